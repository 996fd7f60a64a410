-- Event-bus rules added through the API. version counts puts of one rule;
-- cat_rules_version holds the installation-wide rules version, incremented
-- by every put and delete in the same transaction, which processes poll.
CREATE TABLE cat_rules (
	name       TEXT PRIMARY KEY,
	event_bus  TEXT NOT NULL,
	spec       TEXT NOT NULL,
	state      TEXT NOT NULL,
	source     TEXT NOT NULL,
	version    INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);

CREATE TABLE cat_rules_version (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	version INTEGER NOT NULL
);
INSERT INTO cat_rules_version (id, version) VALUES (1, 0);
