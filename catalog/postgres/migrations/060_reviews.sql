-- The human review queue: at most one item per media item, opened again
-- for each round the pipeline waits for a decision. reason_codes is
-- ",code,code," for filtering; reasons and decision are JSON text.
CREATE TABLE cat_reviews (
	tenant_id        text NOT NULL,
	media_id         text NOT NULL,
	filename         text NOT NULL,
	kind             text NOT NULL,
	state            text NOT NULL CHECK (state IN ('OPEN', 'DECIDED', 'DONE')),
	reasons          text NOT NULL,
	reason_codes     text NOT NULL,
	priority         integer NOT NULL,
	round            integer NOT NULL,
	escalations      integer NOT NULL,
	execution_id     text NOT NULL,
	task_token       text NOT NULL,
	created_at       timestamptz NOT NULL,
	opened_at        timestamptz NOT NULL,
	due_at           timestamptz,
	claimed_by       text NOT NULL,
	claim_expires_at timestamptz,
	decision         text,
	decided_at       timestamptz,
	resumed_at       timestamptz,
	refusal          text NOT NULL,
	PRIMARY KEY (tenant_id, media_id)
);
CREATE INDEX cat_reviews_queue ON cat_reviews (tenant_id, state, priority, opened_at);
CREATE INDEX cat_reviews_unresumed ON cat_reviews (state, decided_at);

-- Versions of a media item's reviewed results: append-only.
CREATE TABLE cat_media_versions (
	tenant_id  text NOT NULL,
	media_id   text NOT NULL,
	version    bigint NOT NULL,
	kind       text NOT NULL,
	author     text NOT NULL,
	round      integer NOT NULL,
	created_at timestamptz NOT NULL,
	body       text NOT NULL,
	note       text NOT NULL,
	PRIMARY KEY (tenant_id, media_id, version)
);
