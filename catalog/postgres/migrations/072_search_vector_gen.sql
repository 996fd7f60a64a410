-- A counter per tenant of vector writes and removals, so a search engine's
-- in-memory vector index learns cheaply what changed: a write stamps its
-- vectors with the tenant's new write count (seq), so only those are read
-- again; a removal makes the engine rebuild its index.
CREATE TABLE cat_vector_gen (
	tenant_id text PRIMARY KEY,
	added     bigint NOT NULL DEFAULT 0,
	removed   bigint NOT NULL DEFAULT 0
);
ALTER TABLE cat_vectors ADD COLUMN seq bigint NOT NULL DEFAULT 0;
CREATE INDEX cat_vectors_tenant_seq ON cat_vectors (tenant_id, model, seq);
INSERT INTO cat_vector_gen (tenant_id) SELECT DISTINCT tenant_id FROM cat_vectors;
