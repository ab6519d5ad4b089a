-- Issue 4: API tokens, stored hashed (SHA-256), each bound to one workspace and one role.
CREATE TABLE tokens (
    hash TEXT PRIMARY KEY,
    workspace TEXT NOT NULL REFERENCES workspaces (name),
    role TEXT NOT NULL CHECK (role IN ('viewer', 'analyst', 'admin')),
    created_ms INTEGER NOT NULL
);
