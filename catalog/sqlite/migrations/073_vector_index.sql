-- A search engine's built approximate vector index (cluster centroids,
-- the vectors in cluster order, their entry ids) per tenant and model,
-- in parts of a few megabytes, so a restart reads it back instead of
-- reading every vector row and clustering again. Part 0 is the header;
-- every part names the snapshot it belongs to, so a half-written one is
-- recognised and ignored. Catalog rows stay the truth: the engine checks
-- the snapshot's vector stamp against cat_vector_gen.
CREATE TABLE cat_vector_index (
	tenant_id TEXT NOT NULL,
	model     TEXT NOT NULL,
	part      INTEGER NOT NULL,
	data      BLOB NOT NULL,
	PRIMARY KEY (tenant_id, model, part)
);
