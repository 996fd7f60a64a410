-- Who took an item's current decision, for listing what a reviewer key
-- decided (reviewer keys see OPEN items and their own decisions only).
ALTER TABLE cat_reviews ADD COLUMN decided_by TEXT NOT NULL DEFAULT '';
UPDATE cat_reviews SET decided_by = coalesce(json_extract(decision, '$.reviewer'), '') WHERE decision IS NOT NULL;
