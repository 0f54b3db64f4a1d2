"""Which Snowflake session runs what: the rules a real account enforces at login and per statement.

The emulators accept any login, so these are checked on the graph itself
(and again, as refusals, by the strict local target: tests/e2e/test_real_account_rules.py).
"""

from __future__ import annotations

from local_stack.dynamic_resources import reveal
from local_stack.program_runner import ProgramRun, Registration
from tests.test_program_graph import dev_stack

PROVIDER = "pulumi:providers:snowflake"
WAREHOUSE = "snowflake:index/warehouse:Warehouse"


def _provider_of(run: ProgramRun, resource: Registration) -> Registration:
    # A provider reference is "<urn>::<id>" and the URN itself contains "::".
    urn = resource.provider.rsplit("::", 1)[0]
    assert urn in run.registrations, f"{resource.type} {resource.name} has no explicit Snowflake provider"
    return run.registrations[urn]


def test_the_admin_provider_logs_in_without_objects_the_stack_creates():
    """Broken on purpose: warehouse=config.warehouse on the admin provider fails here (the old wiring)."""
    run = dev_stack()
    admin = run.named("snowflake")
    inputs = reveal(admin.inputs)
    for default in ("warehouse", "database", "schema"):
        assert default not in inputs, (
            f"the admin provider's default {default} would be validated at login, before the stack creates it: "
            "a first `pulumi up` on a fresh account would fail"
        )


def test_the_warehouse_session_provider_waits_for_the_warehouse():
    run = dev_stack()
    session = run.named("snowflake-warehouse-session")
    warehouse = run.one(WAREHOUSE)
    assert reveal(session.inputs)["warehouse"] == reveal(warehouse.outputs)["name"]
    assert warehouse.urn in session.dependencies, (
        "the warehouse-session provider must depend on the warehouse: it may only log in once it exists, "
        "and destroy must drop the warehouse only after everything that provider manages"
    )


def test_statements_that_need_a_warehouse_run_in_warehouse_sessions():
    """Seeds (DML) and views (read back with a warehouse) use the warehouse session; all else the admin one."""
    run = dev_stack()
    needs_warehouse = {"snowflake:index/execute:Execute", "snowflake:index/view:View"}
    seen = set()
    for resource in run.registrations.values():
        if not resource.custom or not resource.type.startswith("snowflake:"):
            continue
        provider = _provider_of(run, resource).name
        expected = "snowflake-warehouse-session" if resource.type in needs_warehouse else "snowflake"
        assert provider == expected, f"{resource.type} {resource.name} runs on provider {provider}, not {expected}"
        seen.add(resource.type)
    assert needs_warehouse <= seen, f"the program declared none of {needs_warehouse - seen}"


# The COPY the dev stack deploys, character for character. The provider replaces the pipe when this text changes
# beyond trailing semicolons and surrounding whitespace (terraform-provider-snowflake pipeCopyStatementDiffSuppress),
# and a replaced pipe starts with an EMPTY load history: Snowpipe may then load files again that it loaded before.
GOLDEN_DEV_COPY = """COPY INTO ECOMMERCE_DEV.ANALYTICS.ECOMMERCE_EVENTS
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
    FROM @ECOMMERCE_DEV.ANALYTICS.EVENTS_STAGE
)
FILE_FORMAT = (FORMAT_NAME = 'ECOMMERCE_DEV.ANALYTICS.JSON_EVENTS')
ON_ERROR = SKIP_FILE"""


def test_the_deployed_copy_statement_is_the_sql_file_text():
    """Broken on purpose: rendering the COPY with sqlglot (pretty=True), as before, fails here.

    If this fails after editing sql/snowflake_pipe.sql, that is expected: update the golden text, and know that
    `pulumi up` will REPLACE the pipe (new pipe, empty load history, files under the prefix may load twice).
    If it fails after upgrading a library, nothing in sql/ changed and the pipe must not be replaced: fix the code.
    """
    pipe = reveal(dev_stack().one("snowflake:index/pipe:Pipe").inputs)
    assert pipe["copyStatement"] == GOLDEN_DEV_COPY
