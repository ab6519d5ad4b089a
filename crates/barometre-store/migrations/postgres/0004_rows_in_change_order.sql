-- Issue 13: the clock reads a workspace's rows in the order of the changes that wrote them, then
-- by key, so that a late message recomputes its conversation only: customers are numbered as the
-- rows are read, and the facts kept must keep their numbers (a change's rows come last). This
-- index gives that order without sorting the workspace's rows.
CREATE INDEX data_rows_in_change_order ON data_rows (workspace, version, kind, id);
