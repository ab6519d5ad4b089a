-- Issue 12: the themes of an incoming message's text (bits over the binary's theme list), kept
-- like `label`: the list is part of the text model's version, so a new list reads texts again.
ALTER TABLE messages ADD COLUMN themes INTEGER NOT NULL DEFAULT 0;
