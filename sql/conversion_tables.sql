-- Result tables of the Snowpark transformation (transformations/): kept up
-- to date incrementally by the CONVERSION_REFRESH task. Run as-is in a
-- Snowflake worksheet, or let the Pulumi program read the columns from here.

-- One row per session (events without a SESSION_ID belong to no session).
-- Revenue counts purchases only: PRICE * QUANTITY from PRODUCTS.
CREATE TABLE IF NOT EXISTS session_funnel (
    session_id VARCHAR NOT NULL,
    customer_id NUMBER(38, 0) NOT NULL,
    first_event_at TIMESTAMP_NTZ NOT NULL,
    last_event_at TIMESTAMP_NTZ NOT NULL,
    events NUMBER(38, 0) NOT NULL,
    viewed BOOLEAN NOT NULL,
    added_to_cart BOOLEAN NOT NULL,
    purchased BOOLEAN NOT NULL,
    units_purchased NUMBER(38, 0) NOT NULL,
    revenue NUMBER(18, 2) NOT NULL
);

-- One row per product and day (of EVENT_TIMESTAMP). CATEGORY is NULL for a
-- product missing from PRODUCTS; VIEW_TO_PURCHASE_RATE is NULL without views.
CREATE TABLE IF NOT EXISTS product_conversion (
    product_id NUMBER(38, 0) NOT NULL,
    event_date DATE NOT NULL,
    category VARCHAR,
    views NUMBER(38, 0) NOT NULL,
    add_to_carts NUMBER(38, 0) NOT NULL,
    purchases NUMBER(38, 0) NOT NULL,
    units_purchased NUMBER(38, 0) NOT NULL,
    revenue NUMBER(18, 2) NOT NULL,
    view_to_purchase_rate NUMBER(10, 4)
);
