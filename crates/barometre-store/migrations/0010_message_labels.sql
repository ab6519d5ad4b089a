-- What the text of an incoming message says (barometre_core::understand), kept like `signed` and
-- `thanks` so that facts are recomputed without reading texts again: 0 or NULL none, else the
-- label's place in Label::ALL + 1.
ALTER TABLE messages ADD COLUMN label INTEGER;
