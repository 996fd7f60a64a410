-- The search index: one row per time-coded piece of a media item (a
-- transcript segment, a line of on-screen text, an entity mention, a label
-- seen in a shot, a chapter title, the summary, the file name). body is the
-- text, phon the Double Metaphone code of each of its words (same order),
-- times the start and end of each word when the field has word timings.
CREATE TABLE cat_entries (
	id         INTEGER PRIMARY KEY,
	tenant_id  TEXT NOT NULL,
	media_id   TEXT NOT NULL,
	field      TEXT NOT NULL,
	start_s    REAL NOT NULL,
	end_s      REAL NOT NULL,
	speaker    TEXT NOT NULL DEFAULT '',
	value      TEXT NOT NULL DEFAULT '',
	body       TEXT NOT NULL,
	phon       TEXT NOT NULL DEFAULT '',
	times      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX cat_entries_media ON cat_entries (media_id, field);
CREATE INDEX cat_entries_tenant_field ON cat_entries (tenant_id, field, value);

CREATE VIRTUAL TABLE cat_entries_fts USING fts5 (
	body, phon,
	content = 'cat_entries', content_rowid = 'id',
	tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER cat_entries_ai AFTER INSERT ON cat_entries BEGIN
	INSERT INTO cat_entries_fts (rowid, body, phon) VALUES (new.id, new.body, new.phon);
END;
CREATE TRIGGER cat_entries_ad AFTER DELETE ON cat_entries BEGIN
	INSERT INTO cat_entries_fts (cat_entries_fts, rowid, body, phon) VALUES ('delete', old.id, old.body, old.phon);
END;
CREATE TRIGGER cat_entries_au AFTER UPDATE ON cat_entries BEGIN
	INSERT INTO cat_entries_fts (cat_entries_fts, rowid, body, phon) VALUES ('delete', old.id, old.body, old.phon);
	INSERT INTO cat_entries_fts (rowid, body, phon) VALUES (new.id, new.body, new.phon);
END;

-- Every distinct word a tenant's index holds, for edit-distance matching.
-- Words are added, never removed: a stale word only proposes a variant that
-- matches nothing.
CREATE TABLE cat_terms (
	tenant_id TEXT NOT NULL,
	term      TEXT NOT NULL,
	PRIMARY KEY (tenant_id, term)
) WITHOUT ROWID;

-- Which media items are indexed, by which version of the indexer, so a
-- reindex can resume where it stopped.
CREATE TABLE cat_search_state (
	media_id   TEXT PRIMARY KEY,
	tenant_id  TEXT NOT NULL,
	version    INTEGER NOT NULL,
	entries    INTEGER NOT NULL,
	indexed_at INTEGER NOT NULL
);
