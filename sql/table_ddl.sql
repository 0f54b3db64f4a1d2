-- Tables of the real-time ecommerce analytics POC.
-- Run as-is in a Snowflake worksheet (after USE DATABASE/SCHEMA), or let the
-- Pulumi program read the column definitions from here: this file is the only
-- place the columns are written down.

-- One row per raw event delivered by Snowpipe. RAW_EVENT keeps the whole
-- record a producer sent, so fields we do not model yet are never lost.
CREATE TABLE IF NOT EXISTS ecommerce_events (
    event_id VARCHAR NOT NULL,
    event_type VARCHAR NOT NULL,
    event_timestamp TIMESTAMP_NTZ NOT NULL,
    customer_id NUMBER(38, 0) NOT NULL,
    product_id NUMBER(38, 0) NOT NULL,
    quantity NUMBER(38, 0) NOT NULL,
    session_id VARCHAR,
    raw_event VARIANT NOT NULL,
    source_file VARCHAR NOT NULL,
    loaded_at TIMESTAMP_LTZ NOT NULL
);

-- Reference data: the product catalogue (seeded from reference_data/products.csv).
CREATE TABLE IF NOT EXISTS products (
    product_id NUMBER(38, 0) NOT NULL,
    name VARCHAR NOT NULL,
    category VARCHAR NOT NULL,
    price NUMBER(10, 2) NOT NULL
);

-- Reference data: customers (seeded from reference_data/customers.csv).
CREATE TABLE IF NOT EXISTS customers (
    customer_id NUMBER(38, 0) NOT NULL,
    name VARCHAR NOT NULL,
    age_group VARCHAR NOT NULL,
    location VARCHAR NOT NULL
);
