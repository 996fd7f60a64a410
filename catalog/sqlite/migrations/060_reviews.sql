-- The human review queue: at most one item per media item, opened again
-- for each round the pipeline waits for a decision. reason_codes is
-- ",code,code," for filtering; reasons and decision are JSON text.
CREATE TABLE cat_reviews (
	tenant_id        TEXT NOT NULL,
	media_id         TEXT NOT NULL,
	filename         TEXT NOT NULL,
	kind             TEXT NOT NULL,
	state            TEXT NOT NULL CHECK (state IN ('OPEN', 'DECIDED', 'DONE')),
	reasons          TEXT NOT NULL,
	reason_codes     TEXT NOT NULL,
	priority         INTEGER NOT NULL,
	round            INTEGER NOT NULL,
	escalations      INTEGER NOT NULL,
	execution_id     TEXT NOT NULL,
	task_token       TEXT NOT NULL,
	created_at       INTEGER NOT NULL,
	opened_at        INTEGER NOT NULL,
	due_at           INTEGER,
	claimed_by       TEXT NOT NULL,
	claim_expires_at INTEGER,
	decision         TEXT,
	decided_at       INTEGER,
	resumed_at       INTEGER,
	refusal          TEXT NOT NULL,
	PRIMARY KEY (tenant_id, media_id)
);
CREATE INDEX cat_reviews_queue ON cat_reviews (tenant_id, state, priority, opened_at);
CREATE INDEX cat_reviews_unresumed ON cat_reviews (state, decided_at);

-- Versions of a media item's reviewed results: append-only.
CREATE TABLE cat_media_versions (
	tenant_id  TEXT NOT NULL,
	media_id   TEXT NOT NULL,
	version    INTEGER NOT NULL,
	kind       TEXT NOT NULL,
	author     TEXT NOT NULL,
	round      INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	body       TEXT NOT NULL,
	note       TEXT NOT NULL,
	PRIMARY KEY (tenant_id, media_id, version)
);
