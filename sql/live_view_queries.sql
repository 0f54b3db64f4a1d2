-- Queries of `make demo`'s live table (local_stack/cli.py), each after a
-- "-- name:" line like sql/dashboard_queries.sql.

-- name: ingest_lag_by_path
-- Median and p95 seconds from event to loaded row, per ingestion path, over
-- the rows loaded in the last minute (the INGEST_LAG view, sql/ingest_lag.sql).
SELECT
    ingest_path,
    COUNT(*) AS rows_loaded,
    MEDIAN(lag_seconds) AS median_lag_seconds,
    PERCENTILE_CONT(0.95) WITHIN GROUP (ORDER BY lag_seconds) AS p95_lag_seconds
FROM ingest_lag
WHERE loaded_at >= DATEADD(MINUTE, -1, CURRENT_TIMESTAMP())
GROUP BY ingest_path
ORDER BY ingest_path;
