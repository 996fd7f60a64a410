-- Keep event payloads byte for byte (jsonb reorders keys and drops
-- spacing); the store checks they are JSON before writing.
ALTER TABLE cat_outbox ALTER COLUMN payload TYPE text;
