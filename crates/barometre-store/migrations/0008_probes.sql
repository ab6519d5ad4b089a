-- Mystery-shopper campaigns (METRICS §7): test questions sent to brands.
CREATE TABLE probes (
    workspace TEXT NOT NULL,
    probe_id TEXT NOT NULL,
    campaign TEXT NOT NULL,
    brand TEXT NOT NULL,
    channel TEXT NOT NULL,
    sent_ms INTEGER NOT NULL,
    offset_s INTEGER NOT NULL,
    answered_ms INTEGER,
    resolution TEXT,
    signed INTEGER,
    fp INTEGER NOT NULL,
    src INTEGER NOT NULL,
    line INTEGER NOT NULL,
    PRIMARY KEY (workspace, probe_id)
);
