-- The storefront's PostgreSQL data, and the empty database the restore writes into.
-- Run once by the postgres image (/docker-entrypoint-initdb.d) on a fresh volume.
CREATE DATABASE storefront;
CREATE DATABASE storefront_restored;
\connect storefront
CREATE TABLE customers (
    id      integer PRIMARY KEY,
    name    text NOT NULL,
    email   text UNIQUE,
    joined  timestamptz NOT NULL
);
CREATE TABLE orders (
    id          bigserial PRIMARY KEY,
    customer_id integer NOT NULL REFERENCES customers (id),
    total       numeric(12, 2) NOT NULL,
    items       jsonb NOT NULL,
    placed      timestamptz NOT NULL
);
CREATE INDEX orders_customer ON orders (customer_id);
INSERT INTO customers
SELECT i, 'Kundin ' || i || ' — Zoë', 'c' || i || '@example.org',
       timestamptz '2024-01-01 00:00:00+00' + i * interval '37 minutes'
FROM generate_series(1, 500) AS i;
INSERT INTO orders (customer_id, total, items, placed)
SELECT 1 + i % 500, round((i * 3.17)::numeric % 400, 2),
       jsonb_build_array(jsonb_build_object('sku', 'SKU-' || i % 97, 'qty', 1 + i % 4)),
       timestamptz '2024-03-01 00:00:00+00' + i * interval '11 minutes'
FROM generate_series(1, 5000) AS i;
