"""Snowpark transformations: the session funnel and product conversion, maintained incrementally.

conversion.py  the DataFrame logic (events + products -> SESSION_FUNNEL, PRODUCT_CONVERSION rows)
refresh.py     recompute the keys touched by new events from the base table and MERGE-replace them
procedure.py   the stored procedure's handler: the stream's new rows -> refresh, in one transaction
bundle.py      the procedure's code, built from this package's files for the Pulumi program

Plain Snowpark DataFrame API; the same code runs in Snowflake and in the local task runner.
"""
