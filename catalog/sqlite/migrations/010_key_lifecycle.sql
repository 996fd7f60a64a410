-- Keys get a role (admin and operator keys belong to no tenant), an expiry
-- and a generation that rotation increments; tenants can be disabled.
ALTER TABLE cat_tenants ADD COLUMN disabled_at INTEGER;

CREATE TABLE cat_api_keys_new (
	hash       TEXT PRIMARY KEY, -- hex SHA-256 of the key; the key itself is never stored
	id         TEXT NOT NULL UNIQUE,
	role       TEXT NOT NULL CHECK (role IN ('admin', 'tenant', 'reviewer', 'operator')),
	tenant_id  TEXT REFERENCES cat_tenants (id),
	name       TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	expires_at INTEGER,
	revoked_at INTEGER,
	generation INTEGER NOT NULL DEFAULT 1,
	rotated_at INTEGER,
	CHECK ((role IN ('tenant', 'reviewer')) = (tenant_id IS NOT NULL))
);
INSERT INTO cat_api_keys_new (hash, id, role, tenant_id, name, created_at, revoked_at)
	SELECT hash, id, 'tenant', tenant_id, name, created_at, revoked_at FROM cat_api_keys;
DROP TABLE cat_api_keys;
ALTER TABLE cat_api_keys_new RENAME TO cat_api_keys;
CREATE INDEX cat_api_keys_tenant ON cat_api_keys (tenant_id);
