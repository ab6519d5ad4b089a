-- Issue 13: tokens and users belong to a workspace the control plane knows, as in the embedded
-- store (whose foreign keys are on). Workspaces named by earlier rows are created first.
INSERT INTO workspaces (name, created_ms)
SELECT DISTINCT workspace, 0 FROM tokens UNION SELECT DISTINCT workspace, 0 FROM users
ON CONFLICT (name) DO NOTHING;
ALTER TABLE tokens ADD FOREIGN KEY (workspace) REFERENCES workspaces (name);
ALTER TABLE users ADD FOREIGN KEY (workspace) REFERENCES workspaces (name);
