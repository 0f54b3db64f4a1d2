"""PIPE_LOAD_HISTORY: the cloud view over COPY_HISTORY in the graph, and its local stand-in's columns."""

from __future__ import annotations

import fakesnow
import pytest
import snowflake.connector
import sqlglot
from sqlglot import exp

from infra import pipe_health
from local_stack.account.dynamic_resources import reveal
from local_stack.engine.program_runner import run_program
from local_stack.snowpipe import load_history
from tests.fake_cloud import FakeCloud

# The columns the dashboard's dataset (superset_assets/datasets/.../PIPE_LOAD_HISTORY.yaml) relies on.
COLUMNS = [
    ("FILE_NAME", "VARCHAR"),
    ("STAGE_LOCATION", "VARCHAR"),
    ("LAST_LOAD_TIME", "TIMESTAMPLTZ"),
    ("ROW_COUNT", "DECIMAL(38, 0)"),
    ("FILE_SIZE", "DECIMAL(38, 0)"),
    ("STATUS", "VARCHAR"),
    ("FIRST_ERROR_MESSAGE", "VARCHAR"),
    ("FIRST_ERROR_LINE_NUMBER", "DECIMAL(38, 0)"),
    ("FIRST_ERROR_COLUMN_NAME", "VARCHAR"),
    ("PIPE_NAME", "VARCHAR"),
]


@pytest.fixture(scope="module")
def run():
    return run_program(FakeCloud(), "dev")


def test_view_reads_copy_history_of_the_events_table_for_24_hours(run):
    view = run.named("pipe-health-view")
    statement = reveal(view.outputs)["statement"]
    parsed = sqlglot.parse_one(statement, read="snowflake")
    call = next(f for f in parsed.find_all(exp.Anonymous) if f.name.upper() == "COPY_HISTORY")
    arguments = {a.this.name.upper(): a.expression.sql("snowflake") for a in call.expressions}
    assert arguments == {
        "TABLE_NAME": "'ECOMMERCE_EVENTS'",
        "START_TIME": "DATEADD(HOUR, -24, CURRENT_TIMESTAMP())",
    }, arguments
    assert reveal(view.outputs)["name"] == "PIPE_LOAD_HISTORY"
    table = run.named("tables-ecommerce_events")
    assert table.urn in view.dependencies, "the view reports the table's loads: it waits for the table"


def test_dashboard_role_may_select_the_view(run):
    grant = reveal(run.named("pipe-health-reader-select").outputs)
    assert grant["privileges"] == ["SELECT"]
    assert grant["accountRoleName"] == run.exports["dashboard_role"]
    assert grant["onSchemaObject"]["objectName"].endswith(".PIPE_LOAD_HISTORY")


def test_cloud_view_pins_the_columns_the_dashboard_reads():
    _, statement = pipe_health.view_statement()
    assert load_history.cloud_view_columns(statement) == COLUMNS


@pytest.mark.emulator
def test_local_view_has_the_cloud_views_columns_and_types(tmp_path):
    """The local stand-in, created in fakesnow, describes itself with the same columns and types."""
    _, statement = pipe_health.view_statement()
    with fakesnow.patch(), snowflake.connector.connect(database="DB", schema="ANALYTICS") as connection:
        cursor = connection.cursor()
        cursor.execute("CREATE DATABASE IF NOT EXISTS DB")
        cursor.execute("CREATE SCHEMA IF NOT EXISTS DB.ANALYTICS")
        for ddl in load_history.history_ddl("DB"):
            cursor.execute(ddl)
        cursor.execute(
            load_history.local_pipe_load_history_sql(
                statement, "DB.ANALYTICS.PIPE_LOAD_HISTORY", "DB", "DB.ANALYTICS.ECOMMERCE_EVENTS"
            )
        )
        cursor.execute(
            "INSERT INTO DB.LOCAL_SNOWPIPE.LOAD_HISTORY VALUES ('DB.ANALYTICS.P', 's3://b/events/x/a.json', 'e', 10, "
            "'LOAD_FAILED', 0, 3, 'QUANTITY', 'Numeric value ''x'' is not recognized', CURRENT_TIMESTAMP(), 0, "
            "'s3://b/events/', 'DB.ANALYTICS.ECOMMERCE_EVENTS')"
        )
        cursor.execute("DESCRIBE VIEW DB.ANALYTICS.PIPE_LOAD_HISTORY")
        described = [(row[0], row[1]) for row in cursor.fetchall()]
        cursor.execute(
            "SELECT file_name, stage_location, row_count, status, first_error_line_number, pipe_name "
            "FROM DB.ANALYTICS.PIPE_LOAD_HISTORY"
        )
        row = cursor.fetchone()
    assert described == [
        ("FILE_NAME", "VARCHAR(16777216)"),
        ("STAGE_LOCATION", "VARCHAR(16777216)"),
        # fakesnow describes TIMESTAMP_LTZ as TIMESTAMP_TZ (DuckDB has one zoned timestamp type).
        ("LAST_LOAD_TIME", "TIMESTAMP_TZ(9)"),
        ("ROW_COUNT", "NUMBER(38,0)"),
        ("FILE_SIZE", "NUMBER(38,0)"),
        ("STATUS", "VARCHAR(16777216)"),
        ("FIRST_ERROR_MESSAGE", "VARCHAR(16777216)"),
        ("FIRST_ERROR_LINE_NUMBER", "NUMBER(38,0)"),
        ("FIRST_ERROR_COLUMN_NAME", "VARCHAR(16777216)"),
        ("PIPE_NAME", "VARCHAR(16777216)"),
    ], described
    assert row == ("x/a.json", "s3://b/events/", 0, "Load failed", 3, "P"), row
