-- Keys get a role (admin and operator keys belong to no tenant), an expiry
-- and a generation that rotation increments; tenants can be disabled.
ALTER TABLE cat_tenants ADD COLUMN disabled_at timestamptz;

ALTER TABLE cat_api_keys
	ALTER COLUMN tenant_id DROP NOT NULL,
	ADD COLUMN role text NOT NULL DEFAULT 'tenant' CHECK (role IN ('admin', 'tenant', 'reviewer', 'operator')),
	ADD COLUMN expires_at timestamptz,
	ADD COLUMN generation bigint NOT NULL DEFAULT 1,
	ADD COLUMN rotated_at timestamptz,
	ADD CONSTRAINT cat_api_keys_role_tenant CHECK ((role IN ('tenant', 'reviewer')) = (tenant_id IS NOT NULL));
ALTER TABLE cat_api_keys ALTER COLUMN role DROP DEFAULT;
