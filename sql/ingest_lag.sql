-- Ingest lag per path, from each row's own timestamps: how long after its
-- event a row became queryable. EVENT_TIMESTAMP is the producer's UTC clock
-- (TIMESTAMP_NTZ); LOADED_AT is when Snowflake applied the row (the file
-- pipe's METADATA$START_SCAN_TIME, the streaming pipe's CURRENT_TIMESTAMP()).
-- LOADED_AT is taken as UTC wall time so the difference does not depend on
-- the session's TIMEZONE. SOURCE_FILE tells the paths apart
-- (sql/snowflake_streaming_pipe.sql fills it with 'snowpipe-streaming').
CREATE OR REPLACE VIEW ingest_lag AS
SELECT
    event_timestamp,
    loaded_at,
    CASE
        WHEN source_file = 'snowpipe-streaming' THEN 'streaming'
        ELSE 'files'
    END AS ingest_path,
    DATEDIFF(
        MILLISECOND,
        event_timestamp,
        CONVERT_TIMEZONE('UTC', loaded_at)::TIMESTAMP_NTZ
    ) / 1000.0 AS lag_seconds
FROM ecommerce_events;
