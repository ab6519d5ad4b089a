-- Issue 12: an analyst's label for a message, kept apart from the message's row so that
-- re-importing the row never loses it; it wins over the row's `kind` and over the text.
CREATE TABLE label_corrections (
    workspace TEXT NOT NULL,
    message_id TEXT NOT NULL,
    label TEXT NOT NULL,
    corrected_by TEXT,
    corrected_ms INTEGER NOT NULL,
    PRIMARY KEY (workspace, message_id)
);
