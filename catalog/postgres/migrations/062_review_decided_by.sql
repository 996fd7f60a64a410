-- Who took an item's current decision, for listing what a reviewer key
-- decided (reviewer keys see OPEN items and their own decisions only).
ALTER TABLE cat_reviews ADD COLUMN decided_by text NOT NULL DEFAULT '';
UPDATE cat_reviews SET decided_by = coalesce(decision::jsonb ->> 'reviewer', '') WHERE decision IS NOT NULL;
