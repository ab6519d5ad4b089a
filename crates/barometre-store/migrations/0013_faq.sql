-- Issue 12: a workspace's knowledge base (`barometre import faq`), one row per entry in its
-- file's order, and for each incoming message the entry that answers it (its position, from 1;
-- 0: none), kept like `label` and matched again whenever the knowledge base changes.
CREATE TABLE faq_entries (
    workspace TEXT NOT NULL,
    position INTEGER NOT NULL,
    entry_id TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    PRIMARY KEY (workspace, position)
);
ALTER TABLE messages ADD COLUMN faq INTEGER NOT NULL DEFAULT 0;
