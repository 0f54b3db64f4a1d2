-- The session funnel as stages, for the dashboard's funnel chart. Each stage
-- counts the sessions that went through every stage before it too: viewed,
-- then viewed and added to the cart, then all three and purchased.
--
-- COUNT(*) with a WHERE, not COUNT_IF: over no matching rows Snowflake's
-- COUNT_IF is documented to return NULL ("Returns the number of records that
-- satisfy a condition or NULL if no records satisfy the condition",
-- docs.snowflake.com/sql-reference/functions/count_if), and DuckDB's count_if
-- does return NULL on an empty table (measured). A funnel of NULLs charts as
-- stage names with no shapes; COUNT(*) over no rows is 0 in both engines.
CREATE OR REPLACE VIEW conversion_funnel AS
SELECT
    1 AS step,
    'Viewed' AS stage,
    COUNT(*) AS sessions
FROM session_funnel
WHERE viewed
UNION ALL
SELECT
    2 AS step,
    'Added to cart' AS stage,
    COUNT(*) AS sessions
FROM session_funnel
WHERE viewed AND added_to_cart
UNION ALL
SELECT
    3 AS step,
    'Purchased' AS stage,
    COUNT(*) AS sessions
FROM session_funnel
WHERE viewed AND added_to_cart AND purchased;
