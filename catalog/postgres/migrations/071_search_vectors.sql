-- Embedding vectors of search entries: little-endian float32, normalised
-- to unit length, one row per entry and model.
CREATE TABLE cat_vectors (
	entry_id  bigint PRIMARY KEY,
	tenant_id text NOT NULL,
	media_id  text NOT NULL,
	model     text NOT NULL,
	dim       integer NOT NULL,
	vec       bytea NOT NULL
);
CREATE INDEX cat_vectors_tenant_model ON cat_vectors (tenant_id, model, entry_id);
CREATE INDEX cat_vectors_media ON cat_vectors (media_id);
-- The model a media item's entries were last embedded with.
ALTER TABLE cat_search_state ADD COLUMN embed_model text NOT NULL DEFAULT '';
