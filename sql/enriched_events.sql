-- Events joined with the product and customer they refer to: the one view
-- the dashboards read. LEFT JOINs keep events whose product or customer is
-- not (yet) in the reference data instead of silently dropping them.
CREATE OR REPLACE VIEW enriched_events AS
SELECT
    e.event_id,
    e.event_type,
    e.event_timestamp,
    e.customer_id,
    c.name AS customer_name,
    c.age_group,
    c.location,
    e.product_id,
    p.name AS product_name,
    p.category,
    p.price,
    e.quantity,
    e.session_id,
    e.source_file,
    e.loaded_at
FROM ecommerce_events AS e
LEFT JOIN products AS p ON e.product_id = p.product_id
LEFT JOIN customers AS c ON e.customer_id = c.customer_id;
