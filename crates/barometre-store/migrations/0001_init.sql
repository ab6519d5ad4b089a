-- Rows as imported (keyed by id), and the clock's facts derived from them.
CREATE TABLE workspaces (
    name TEXT PRIMARY KEY,
    created_ms INTEGER NOT NULL
);

CREATE TABLE messages (
    workspace TEXT NOT NULL,
    message_id TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    offset_s INTEGER NOT NULL,
    direction TEXT NOT NULL,
    account TEXT NOT NULL,
    channel TEXT NOT NULL,
    author_id TEXT NOT NULL,
    conversation_id TEXT,
    reply_to TEXT,
    customer_id TEXT,
    text TEXT,
    bot INTEGER NOT NULL,
    public INTEGER,
    kind TEXT,
    in_scope INTEGER,
    actionable INTEGER,
    handle_seconds REAL,
    team TEXT,
    -- content fingerprint: a re-import of the same row changes nothing
    fp INTEGER NOT NULL,
    -- what the clock reads in the text, kept so the clock never reloads texts
    signed INTEGER,
    thanks INTEGER NOT NULL,
    -- where the current version was read: sources.id and line
    src INTEGER NOT NULL,
    line INTEGER NOT NULL,
    PRIMARY KEY (workspace, message_id)
) WITHOUT ROWID;

CREATE TABLE imports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace TEXT NOT NULL,
    started_ms INTEGER NOT NULL
);

CREATE TABLE sources (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    import_id INTEGER NOT NULL REFERENCES imports (id),
    file TEXT NOT NULL
);

CREATE TABLE conversation_events (
    workspace TEXT NOT NULL,
    event_key TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    event TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    offset_s INTEGER NOT NULL,
    agent_id TEXT,
    PRIMARY KEY (workspace, event_key)
) WITHOUT ROWID;

-- The clock's facts, columnar, in chunks sorted by instant (see src/chunks.rs): `req` and `msg`
-- hold what reports aggregate, `req_ids` and `msg_ids` the ids behind them, `dict` the names.
CREATE TABLE fact_chunks (
    workspace TEXT NOT NULL,
    part TEXT NOT NULL,
    seq INTEGER NOT NULL,
    lo_ms INTEGER NOT NULL,
    hi_ms INTEGER NOT NULL,
    n INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (workspace, part, seq)
);

CREATE TABLE meta (
    workspace TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (workspace, key)
);
