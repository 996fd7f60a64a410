-- A tenant's custom vocabulary grown from review: terms suggested by
-- reviewers' corrections, accepted by a tenant admin. term_key is the
-- lower-cased term (one row per term whatever its case).
CREATE TABLE cat_vocabulary (
	tenant_id   text NOT NULL,
	term_key    text NOT NULL,
	term        text NOT NULL,
	state       text NOT NULL CHECK (state IN ('suggested', 'accepted')),
	source      text NOT NULL,
	media_id    text NOT NULL,
	count       integer NOT NULL,
	created_at  timestamptz NOT NULL,
	accepted_at timestamptz,
	accepted_by text NOT NULL,
	PRIMARY KEY (tenant_id, term_key)
);
