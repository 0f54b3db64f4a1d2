-- Estimated Snowflake credits per consumer, for the dashboard's cost chart.
-- The local stack's credit meter rewrites it every few seconds
-- (local_stack/credit_meter_server.py): an estimate by the rules in
-- cost/rules.py, not a bill. Nothing fills it in a cloud stack, where
-- Snowsight's cost management shows the real bill (docs/cost.md).
CREATE TABLE IF NOT EXISTS credit_estimate (
    consumer VARCHAR NOT NULL,
    credits NUMBER(38, 6) NOT NULL,
    credits_per_month NUMBER(38, 3) NOT NULL,
    updated_at TIMESTAMP_NTZ NOT NULL
);
