-- Snowpipe that loads every new file under the stage into ECOMMERCE_EVENTS.
-- AUTO_INGEST = TRUE: S3 event notifications (sent to the pipe's SQS
-- notification channel) trigger the load, usually within a minute.
--
-- The SELECT list maps positionally onto the columns of ECOMMERCE_EVENTS
-- (sql/table_ddl.sql), so no column list is written twice. Required fields
-- land in NOT NULL columns: a file with a missing or mistyped field fails
-- and ON_ERROR = SKIP_FILE loads none of it.
-- METADATA$START_SCAN_TIME, not CURRENT_TIMESTAMP: Snowflake evaluates
-- CURRENT_TIMESTAMP once at pipe creation, not per file.
CREATE PIPE IF NOT EXISTS ecommerce_events_pipe
AUTO_INGEST = TRUE
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
        METADATA$FILENAME,
        METADATA$START_SCAN_TIME
    FROM @events_stage
)
FILE_FORMAT = (FORMAT_NAME = 'json_events')
ON_ERROR = SKIP_FILE;
