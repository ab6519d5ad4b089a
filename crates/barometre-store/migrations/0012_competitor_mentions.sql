-- Issue 12: whether an incoming message's text names a configured competitor, kept like `label`
-- (the competitors are part of the facts' fingerprint: a new list reads the texts again).
ALTER TABLE messages ADD COLUMN competitor INTEGER NOT NULL DEFAULT 0;
