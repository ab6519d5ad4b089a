-- Issue 13: the control plane on PostgreSQL — what several `barometre serve` instances share:
-- workspaces, API tokens (stored hashed), dashboard users and their sessions. The same meaning as
-- the SQLite tables of the same names (migrations 0001, 0006, 0007, 0009).
CREATE TABLE workspaces (
    name TEXT PRIMARY KEY,
    created_ms BIGINT NOT NULL
);

CREATE TABLE tokens (
    hash TEXT PRIMARY KEY,
    workspace TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'analyst', 'admin')),
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT
);

CREATE TABLE users (
    name TEXT PRIMARY KEY,
    workspace TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'analyst', 'admin')),
    password TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);

-- `user` is a reserved word in PostgreSQL: the session's user is `user_name`.
CREATE TABLE sessions (
    hash TEXT PRIMARY KEY,
    user_name TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    expires_ms BIGINT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_name);
