-- Event-bus rules added through the API. version counts puts of one rule;
-- cat_rules_version holds the installation-wide rules version, incremented
-- by every put and delete in the same transaction, which processes poll.
-- The spec is text so it is kept byte for byte.
CREATE TABLE cat_rules (
	name       text PRIMARY KEY,
	event_bus  text NOT NULL,
	spec       text NOT NULL,
	state      text NOT NULL,
	source     text NOT NULL,
	version    bigint NOT NULL,
	updated_at timestamptz NOT NULL
);

CREATE TABLE cat_rules_version (
	id      integer PRIMARY KEY CHECK (id = 1),
	version bigint NOT NULL
);
INSERT INTO cat_rules_version (id, version) VALUES (1, 0);
