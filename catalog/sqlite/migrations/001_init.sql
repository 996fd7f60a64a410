CREATE TABLE cat_tenants (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL
);

CREATE TABLE cat_api_keys (
	hash       TEXT PRIMARY KEY, -- hex SHA-256 of the key; the key itself is never stored
	id         TEXT NOT NULL UNIQUE,
	tenant_id  TEXT NOT NULL REFERENCES cat_tenants (id),
	name       TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	revoked_at INTEGER
);
CREATE INDEX cat_api_keys_tenant ON cat_api_keys (tenant_id);

-- Times are Unix microseconds.
CREATE TABLE cat_media (
	id             TEXT PRIMARY KEY,
	tenant_id      TEXT NOT NULL REFERENCES cat_tenants (id),
	bucket_key     TEXT NOT NULL,
	filename       TEXT NOT NULL DEFAULT '',
	content_type   TEXT NOT NULL DEFAULT '',
	size           INTEGER NOT NULL DEFAULT 0,
	sha256         TEXT NOT NULL DEFAULT '',
	kind           TEXT NOT NULL DEFAULT '',
	status         TEXT NOT NULL,
	version        INTEGER NOT NULL,
	created_at     INTEGER NOT NULL,
	updated_at     INTEGER NOT NULL,
	duration       REAL NOT NULL DEFAULT 0,
	execution_id   TEXT NOT NULL DEFAULT '',
	summary        TEXT NOT NULL DEFAULT '',
	insights       TEXT,
	transcript_key TEXT NOT NULL DEFAULT '',
	captions_key   TEXT NOT NULL DEFAULT '',
	error          TEXT NOT NULL DEFAULT '',
	cause          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX cat_media_tenant_created ON cat_media (tenant_id, created_at, id);
CREATE INDEX cat_media_tenant_status_created ON cat_media (tenant_id, status, created_at, id);
CREATE INDEX cat_media_tenant_kind_created ON cat_media (tenant_id, kind, created_at, id);

CREATE TABLE cat_failures (
	id                   INTEGER PRIMARY KEY AUTOINCREMENT,
	media_id             TEXT NOT NULL DEFAULT '',
	tenant_id            TEXT NOT NULL REFERENCES cat_tenants (id),
	bucket_key           TEXT NOT NULL DEFAULT '',
	execution_id         TEXT NOT NULL DEFAULT '',
	state_name           TEXT NOT NULL DEFAULT '',
	error_name           TEXT NOT NULL,
	cause                TEXT NOT NULL DEFAULT '',
	failed_at            INTEGER NOT NULL,
	redriven_at          INTEGER,
	redrive_execution_id TEXT NOT NULL DEFAULT ''
);
CREATE INDEX cat_failures_tenant_failed ON cat_failures (tenant_id, failed_at, id);
CREATE INDEX cat_failures_media ON cat_failures (media_id);

-- Search chunks, indexed by the external-content FTS5 table below.
CREATE TABLE cat_chunks (
	id         INTEGER PRIMARY KEY,
	tenant_id  TEXT NOT NULL,
	media_id   TEXT NOT NULL,
	source     TEXT NOT NULL,
	seq        INTEGER NOT NULL,
	start_s    REAL NOT NULL,
	end_s      REAL NOT NULL,
	speaker    TEXT NOT NULL DEFAULT '',
	body       TEXT NOT NULL
);
CREATE INDEX cat_chunks_media ON cat_chunks (media_id, source);

CREATE VIRTUAL TABLE cat_chunks_fts USING fts5 (
	body,
	content = 'cat_chunks', content_rowid = 'id',
	tokenize = 'porter unicode61 remove_diacritics 2'
);

CREATE TRIGGER cat_chunks_ai AFTER INSERT ON cat_chunks BEGIN
	INSERT INTO cat_chunks_fts (rowid, body) VALUES (new.id, new.body);
END;
CREATE TRIGGER cat_chunks_ad AFTER DELETE ON cat_chunks BEGIN
	INSERT INTO cat_chunks_fts (cat_chunks_fts, rowid, body) VALUES ('delete', old.id, old.body);
END;
CREATE TRIGGER cat_chunks_au AFTER UPDATE ON cat_chunks BEGIN
	INSERT INTO cat_chunks_fts (cat_chunks_fts, rowid, body) VALUES ('delete', old.id, old.body);
	INSERT INTO cat_chunks_fts (rowid, body) VALUES (new.id, new.body);
END;

CREATE TABLE cat_usage (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	tenant_id     TEXT NOT NULL REFERENCES cat_tenants (id),
	media_id      TEXT NOT NULL DEFAULT '',
	analyser      TEXT NOT NULL,
	cpu_seconds   REAL NOT NULL DEFAULT 0,
	audio_seconds REAL NOT NULL DEFAULT 0,
	images        INTEGER NOT NULL DEFAULT 0,
	tokens        INTEGER NOT NULL DEFAULT 0,
	cost_usd      REAL NOT NULL DEFAULT 0,
	recorded_at   INTEGER NOT NULL
);
CREATE INDEX cat_usage_tenant_recorded ON cat_usage (tenant_id, recorded_at);
CREATE INDEX cat_usage_media ON cat_usage (media_id);

-- The outbox: an event is claimable when available_at <= now. A claim moves
-- available_at to the end of its lease.
CREATE TABLE cat_outbox (
	seq          INTEGER PRIMARY KEY AUTOINCREMENT,
	id           TEXT NOT NULL UNIQUE,
	payload      TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	available_at INTEGER NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	claim_token  TEXT NOT NULL DEFAULT '',
	last_error   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX cat_outbox_available ON cat_outbox (available_at);

CREATE TABLE cat_deliveries (
	consumer     TEXT NOT NULL,
	event_id     TEXT NOT NULL,
	delivered_at INTEGER NOT NULL,
	PRIMARY KEY (consumer, event_id)
) WITHOUT ROWID;
CREATE INDEX cat_deliveries_delivered ON cat_deliveries (delivered_at);
