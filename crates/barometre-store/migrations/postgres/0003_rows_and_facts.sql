-- Issue 13: rows and the clock's facts on PostgreSQL (`--store postgres://…`), for a deployment
-- whose one engine is PostgreSQL: the control plane's tables (0001) and these in one database.
-- The same meaning as the embedded store's rows and fact chunks; PostgreSQL's transactions make
-- an import visible whole at its commit, and a workspace's row in `data_state`, locked by every
-- change, takes the changes of a workspace one at a time across instances.

-- A workspace's committed version (one more per change) and the settings its facts were
-- derived with ('' while none were written).
CREATE TABLE data_state (
    workspace TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    facts_key TEXT NOT NULL DEFAULT ''
);

-- Rows by key. A message is kept as its compact row (`data`, with the reading of its text made
-- under the settings `tf_key` names); every other kind as JSON (`body`). `version`: the change
-- that last wrote the row (a row seen twice in one import is told apart by it). Ids are kept as
-- their UTF-8 bytes: an id may hold a NUL character, which TEXT refuses.
CREATE TABLE data_rows (
    workspace TEXT NOT NULL,
    kind SMALLINT NOT NULL,
    id BYTEA NOT NULL,
    at_ms BIGINT NOT NULL,
    fp BIGINT NOT NULL,
    version BIGINT NOT NULL,
    file TEXT NOT NULL,
    line BIGINT NOT NULL,
    tf_key TEXT NOT NULL,
    body TEXT NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (workspace, kind, id)
);

-- The facts, in the embedded store's chunks (the same bytes: byte-identical reports), each with
-- its first and last instants. Chunks are compressed already where it pays: stored as they are.
CREATE TABLE data_facts (
    workspace TEXT NOT NULL,
    part TEXT NOT NULL,
    seq INTEGER NOT NULL,
    lo_ms BIGINT NOT NULL,
    hi_ms BIGINT NOT NULL,
    n BIGINT NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (workspace, part, seq)
);
ALTER TABLE data_facts ALTER COLUMN data SET STORAGE EXTERNAL;

-- An analyst's label on an incoming message, kept across imports.
CREATE TABLE data_corrections (
    workspace TEXT NOT NULL,
    message_id BYTEA NOT NULL,
    label TEXT NOT NULL,
    by_name TEXT,
    at_ms BIGINT NOT NULL,
    PRIMARY KEY (workspace, message_id)
);

-- A workspace's knowledge base, as JSON.
CREATE TABLE data_faq (
    workspace TEXT PRIMARY KEY,
    entries TEXT NOT NULL
);
