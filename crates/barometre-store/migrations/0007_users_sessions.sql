-- Issue 4: dashboard users (PBKDF2-SHA256 password hashes) and their sessions (cookie ids stored
-- hashed, each with its CSRF token).
CREATE TABLE users (
    name TEXT PRIMARY KEY,
    workspace TEXT NOT NULL REFERENCES workspaces (name),
    role TEXT NOT NULL CHECK (role IN ('viewer', 'analyst', 'admin')),
    password TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);

CREATE TABLE sessions (
    hash TEXT PRIMARY KEY,
    user TEXT NOT NULL REFERENCES users (name),
    csrf TEXT NOT NULL,
    expires_ms INTEGER NOT NULL
);
