-- Issue 3: criterion scores of quality reviews (IQS, engagement score).
CREATE TABLE qa_reviews (
    workspace TEXT NOT NULL,
    review_key TEXT NOT NULL,
    conversation_id TEXT,
    reviewer TEXT,
    agent_id TEXT,
    criterion TEXT NOT NULL,
    score REAL NOT NULL,
    at_ms INTEGER NOT NULL,
    offset_s INTEGER NOT NULL,
    fp INTEGER NOT NULL,
    src INTEGER NOT NULL,
    line INTEGER NOT NULL,
    PRIMARY KEY (workspace, review_key)
);
CREATE INDEX qa_reviews_at ON qa_reviews (workspace, at_ms);
