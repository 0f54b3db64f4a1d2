-- The session funnel as stages, for the dashboard's funnel chart. Each stage
-- counts the sessions that went through every stage before it too: viewed,
-- then viewed and added to the cart, then all three and purchased.
CREATE OR REPLACE VIEW conversion_funnel AS
SELECT
    1 AS step,
    'Viewed' AS stage,
    COUNT_IF(viewed) AS sessions
FROM session_funnel
UNION ALL
SELECT
    2 AS step,
    'Added to cart' AS stage,
    COUNT_IF(viewed AND added_to_cart) AS sessions
FROM session_funnel
UNION ALL
SELECT
    3 AS step,
    'Purchased' AS stage,
    COUNT_IF(viewed AND added_to_cart AND purchased) AS sessions
FROM session_funnel;
