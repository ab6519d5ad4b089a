-- Message rows in chunks (src/rows.rs): an import writes one chunk of up to 65,536 rows instead
-- of a keyed row per message. A row changed by a later import is marked in its chunk's `dead`
-- bitmap and stored again in the later chunk. The `messages` table of earlier versions is moved
-- here by the binary when this migration runs, then left empty.
CREATE TABLE message_chunks (
    workspace TEXT NOT NULL,
    seq INTEGER NOT NULL,
    n INTEGER NOT NULL,
    keys BLOB NOT NULL,
    data BLOB NOT NULL,
    dead BLOB,
    PRIMARY KEY (workspace, seq)
);
