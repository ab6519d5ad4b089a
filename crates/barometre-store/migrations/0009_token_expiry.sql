-- Issue 11: API tokens expire (NULL: tokens created before this migration, which never did).
ALTER TABLE tokens ADD COLUMN expires_ms INTEGER;
