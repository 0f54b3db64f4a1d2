-- Snowpipe Streaming (high-performance architecture) pipe: rows a producer
-- appends to a channel of this pipe over the REST API land in
-- ECOMMERCE_EVENTS, "within 5 to 10 seconds" (docs.snowflake.com,
-- user-guide/snowpipe-streaming-high-performance-overview). No stage, no file,
-- no warehouse: billed per uncompressed GB ingested.
--
-- The first eight items are those of sql/snowflake_pipe.sql, field for field
-- and cast for cast (tests/test_streaming_graph.py compares them), so both
-- paths fill ECOMMERCE_EVENTS alike. A channel row has no file:
-- SOURCE_FILE names the path instead, and LOADED_AT is the time the service
-- applies the row (the file pipe's METADATA$START_SCAN_TIME has no streaming
-- counterpart). Bad rows are skipped and counted in the channel's status:
-- the architecture runs with ON_ERROR = CONTINUE implicitly (docs,
-- snowpipe-streaming/snowpipe-streaming-error-tables).
CREATE PIPE IF NOT EXISTS ecommerce_events_streaming_pipe
AS
COPY INTO ecommerce_events
FROM (
    SELECT
        $1:event_id::VARCHAR,
        $1:event_type::VARCHAR,
        $1:event_timestamp::TIMESTAMP_NTZ,
        $1:customer_id::NUMBER(38, 0),
        $1:product_id::NUMBER(38, 0),
        $1:quantity::NUMBER(38, 0),
        $1:session_id::VARCHAR,
        $1,
        'snowpipe-streaming' AS source_file,
        CURRENT_TIMESTAMP() AS loaded_at
    FROM TABLE(DATA_SOURCE(TYPE => 'STREAMING'))
);
