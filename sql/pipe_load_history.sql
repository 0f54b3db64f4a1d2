-- Pipeline health for the dashboard: one row per file the pipe loaded or
-- skipped in the last 24 hours, from Snowflake's own load metadata
-- (COPY_HISTORY covers Snowpipe loads too). The casts pin each column's type,
-- so the local stand-in view (local_stack/snowpipe/load_history.py) can
-- promise exactly the same columns and types.
CREATE OR REPLACE VIEW pipe_load_history AS
SELECT
    file_name::VARCHAR AS file_name,
    stage_location::VARCHAR AS stage_location,
    last_load_time::TIMESTAMP_LTZ AS last_load_time,
    row_count::NUMBER(38, 0) AS row_count,
    file_size::NUMBER(38, 0) AS file_size,
    status::VARCHAR AS status,
    first_error_message::VARCHAR AS first_error_message,
    first_error_line_number::NUMBER(38, 0) AS first_error_line_number,
    first_error_column_name::VARCHAR AS first_error_column_name,
    pipe_name::VARCHAR AS pipe_name
FROM TABLE(
    information_schema.copy_history(
        table_name => 'ECOMMERCE_EVENTS',
        start_time => DATEADD(HOURS, -24, CURRENT_TIMESTAMP())
    )
);
