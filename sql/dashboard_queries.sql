-- The four dashboard queries. Revenue is SUM(price * quantity) over PURCHASE
-- events only: views and cart events are not sales.
-- Each query is preceded by a "-- name:" line; tests and the dashboard
-- definitions refer to the queries by these names.

-- name: total_revenue_by_product_category
SELECT
    category,
    SUM(price * quantity) AS revenue
FROM enriched_events
WHERE event_type = 'purchase'
GROUP BY category
ORDER BY revenue DESC;

-- name: customer_segmentation_by_age_group
SELECT
    age_group,
    COUNT(DISTINCT customer_id) AS purchasing_customers,
    SUM(price * quantity) AS revenue
FROM enriched_events
WHERE event_type = 'purchase'
GROUP BY age_group
ORDER BY age_group;

-- name: top_products_by_sales_volume
SELECT
    product_name,
    SUM(quantity) AS units_sold
FROM enriched_events
WHERE event_type = 'purchase'
GROUP BY product_name
ORDER BY units_sold DESC, product_name ASC
LIMIT 10;

-- name: revenue_by_customer_location
SELECT
    location,
    SUM(price * quantity) AS revenue
FROM enriched_events
WHERE event_type = 'purchase'
GROUP BY location
ORDER BY revenue DESC;
