-- Each caller's favourite products, as a JSON array of ids. One row per caller, created by
-- their first write and never deleted, so that a version never repeats for one caller.
CREATE TABLE IF NOT EXISTS favorites (
    user_name   TEXT   PRIMARY KEY,
    product_ids TEXT   NOT NULL,
    version     BIGINT NOT NULL
);
