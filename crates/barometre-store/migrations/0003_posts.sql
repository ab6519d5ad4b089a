-- Issue 3: publications (impressions, reach, engagement).
CREATE TABLE posts (
    workspace TEXT NOT NULL,
    post_id TEXT NOT NULL,
    account TEXT NOT NULL,
    channel TEXT NOT NULL,
    published_ms INTEGER NOT NULL,
    offset_s INTEGER NOT NULL,
    theme TEXT,
    impressions INTEGER NOT NULL,
    reach INTEGER NOT NULL,
    engagements INTEGER NOT NULL,
    fp INTEGER NOT NULL,
    src INTEGER NOT NULL,
    line INTEGER NOT NULL,
    PRIMARY KEY (workspace, post_id)
);
CREATE INDEX posts_at ON posts (workspace, published_ms);
