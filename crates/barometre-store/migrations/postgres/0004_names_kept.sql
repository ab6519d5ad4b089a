-- Issue 13: what the stored facts number names by. The clock numbers names (customers among
-- them) in the order it reads the rows; the facts a patch keeps hold those numbers. A patch is
-- taken only when the rows read now name, in order, the same first `names_n` names as when the
-- facts were computed (`names_hash`: FNV-1a over them); else every fact is computed again.
ALTER TABLE data_state ADD COLUMN names_n BIGINT NOT NULL DEFAULT 0;
ALTER TABLE data_state ADD COLUMN names_hash BIGINT NOT NULL DEFAULT 0;
