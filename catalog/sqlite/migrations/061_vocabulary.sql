-- A tenant's custom vocabulary grown from review: terms suggested by
-- reviewers' corrections, accepted by a tenant admin. term_key is the
-- lower-cased term (one row per term whatever its case).
CREATE TABLE cat_vocabulary (
	tenant_id   TEXT NOT NULL,
	term_key    TEXT NOT NULL,
	term        TEXT NOT NULL,
	state       TEXT NOT NULL CHECK (state IN ('suggested', 'accepted')),
	source      TEXT NOT NULL,
	media_id    TEXT NOT NULL,
	count       INTEGER NOT NULL,
	created_at  INTEGER NOT NULL,
	accepted_at INTEGER,
	accepted_by TEXT NOT NULL,
	PRIMARY KEY (tenant_id, term_key)
);
