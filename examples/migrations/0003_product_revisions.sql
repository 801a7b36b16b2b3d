-- The collection revision at each product's last write, so that a page's validators come
-- from one aggregate row (count, last id, highest revision): every write sets it to the
-- revision it bumped the collection to, which is above every revision any row holds.
-- Rows written before this migration keep 0, below every revision a write hands out.
-- Applied once, recorded in schema_migrations under the migration lock (SQLite has no
-- ADD COLUMN IF NOT EXISTS).
ALTER TABLE products ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;
