-- Products, with money as integer cents and times as microseconds since the Unix epoch (UTC).
-- Plain SQL that SQLite and PostgreSQL both run.
CREATE TABLE IF NOT EXISTS products (
    id          BIGINT PRIMARY KEY,
    name        TEXT   NOT NULL,
    price_cents BIGINT NOT NULL CHECK (price_cents >= 0),
    version     BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- The last version of each deleted product, so that one created again at the same id
-- continues from it and never reuses an ETag.
CREATE TABLE IF NOT EXISTS deleted_products (
    id      BIGINT PRIMARY KEY,
    version BIGINT NOT NULL
);

-- One row: the collection's validators and the next id to hand out. Every write updates it
-- in its own transaction, first, so that GET /products can tell whether anything changed
-- from this row alone.
CREATE TABLE IF NOT EXISTS collection_state (
    id          BIGINT PRIMARY KEY CHECK (id = 1),
    revision    BIGINT NOT NULL,
    next_id     BIGINT NOT NULL,
    modified_at BIGINT NOT NULL
);

INSERT INTO collection_state (id, revision, next_id, modified_at) VALUES (1, 1, 1, 0)
ON CONFLICT (id) DO NOTHING;
