-- Whether redriving a failure can help: failures of the media itself
-- (unsupported, corrupt, empty, too large) and refused references are not
-- retryable. At most one failure row per media item and execution.
ALTER TABLE cat_failures ADD COLUMN retryable boolean NOT NULL DEFAULT true;
UPDATE cat_failures SET retryable = false WHERE error_name IN ('Media.Unsupported', 'Media.Corrupt', 'Media.Empty',
	'Media.TooLarge', 'Landfall.ForbiddenReference', 'Landfall.AlreadyProcessed');
DELETE FROM cat_failures WHERE media_id <> '' AND execution_id <> '' AND id NOT IN (
	SELECT MIN(id) FROM cat_failures WHERE media_id <> '' AND execution_id <> '' GROUP BY tenant_id, media_id, execution_id);
CREATE UNIQUE INDEX cat_failures_media_execution ON cat_failures (tenant_id, media_id, execution_id)
	WHERE media_id <> '' AND execution_id <> '';
