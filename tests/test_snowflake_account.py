"""The rules of a real Snowflake account that the strict local target enforces (no emulator needed).

Each case is a refusal a real account gives, with the source in
local_stack/account/snowflake_account.py. The handlers are called directly: every
check below fails before the handler would touch fakesnow (a context with an
unreachable port proves it).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.sql_source import fold
from local_stack.account import snowflake_handlers
from local_stack.account.context import LocalContext
from local_stack.account.snowflake_account import SnowflakeAccount, SnowflakeRefusedError, split_qualified
from local_stack.services.sql_reading import needs_warehouse, tables_named


@pytest.fixture
def ctx(tmp_path: Path) -> LocalContext:
    context = LocalContext("http://127.0.0.1:1", "us-east-1", 1, tmp_path)
    account = context.account
    account.add("DATABASE", "DB")
    account.add("SCHEMA", "DB", "S")
    return context


def test_unquoted_identifiers_fold_to_upper_case_and_quoted_ones_are_kept():
    assert fold("events_stage") == "EVENTS_STAGE"
    assert fold('"events_stage"') == "events_stage"
    assert split_qualified('"DB"."S"."json_events"') == ("DB", "S", "json_events")
    assert split_qualified("db.s.json_events") == ("DB", "S", "JSON_EVENTS")
    assert split_qualified('"a.b".s.t') == ("a.b", "S", "T")


def test_login_is_refused_when_the_default_warehouse_does_not_exist_yet():
    account = SnowflakeAccount()
    with pytest.raises(SnowflakeRefusedError, match=r"The requested warehouse does not exist or not authorized"):
        account.login("snowflake", {"role": "ACCOUNTADMIN", "warehouse": "POC_WH"})
    account.add("WAREHOUSE", "POC_WH")
    session = account.login("snowflake", {"role": "ACCOUNTADMIN", "warehouse": "poc_wh"})
    assert session.warehouse == "POC_WH", "an unquoted warehouse name folds to upper case"


def test_login_checks_role_database_and_schema_too_unless_validation_is_off():
    account = SnowflakeAccount()
    with pytest.raises(SnowflakeRefusedError, match=r"Role 'DEPLOYER' specified in the connect string does not exist"):
        account.login("snowflake", {"role": "DEPLOYER"})
    with pytest.raises(SnowflakeRefusedError, match=r"The requested database does not exist"):
        account.login("snowflake", {"database": "POC"})
    account.add("DATABASE", "POC")
    with pytest.raises(SnowflakeRefusedError, match=r"The requested schema does not exist"):
        account.login("snowflake", {"database": "POC", "schema": "ANALYTICS"})
    relaxed = account.login("snowflake", {"warehouse": "MISSING_WH", "validateDefaultParameters": "false"})
    assert relaxed.warehouse == "MISSING_WH"
    assert account.login("snowflake", {"role": "ACCOUNTADMIN"}).warehouse is None, "system roles always exist"


def test_statements_that_touch_rows_need_a_warehouse_and_ddl_does_not():
    assert needs_warehouse("INSERT OVERWRITE INTO DB.S.T (A) VALUES (1)")
    assert needs_warehouse("DELETE FROM DB.S.T")
    assert needs_warehouse("SELECT * FROM DB.S.T")
    assert not needs_warehouse("CREATE TABLE DB.S.T (A INT)")
    assert not needs_warehouse("SELECT 1")
    assert tables_named('INSERT INTO db.s.t SELECT * FROM "DB"."S"."u" x') == [("DB", "S", "T"), ("DB", "S", "u")]


def test_a_seed_in_a_session_without_warehouse_is_refused(ctx: LocalContext):
    ctx.account.add("TABLE", "DB", "S", "T")
    ctx.in_session(ctx.account.login("snowflake", {"role": "ACCOUNTADMIN"}))
    with pytest.raises(SnowflakeRefusedError, match=r"000606 .* No active warehouse selected"):
        snowflake_handlers.execute(ctx, "seed", {"execute": "INSERT OVERWRITE INTO DB.S.T (A) VALUES (1)"})


def test_a_python_procedure_in_a_session_without_warehouse_is_refused(ctx: LocalContext):
    ctx.account.add("DATABASE", "DB")
    ctx.account.add("SCHEMA", "DB", "S")
    code = "def run(session):\n    return 1\n"
    procedure = {"database": "DB", "schema": "S", "name": "P", "handler": "run", "procedureDefinition": code}
    ctx.in_session(ctx.account.login("snowflake", {"role": "ACCOUNTADMIN"}))
    with pytest.raises(SnowflakeRefusedError, match=r"391531 .* active warehouse is required for creating Python"):
        snowflake_handlers.procedure_python(ctx, "p", procedure)
    ctx.account.add("WAREHOUSE", "WH")
    ctx.in_session(ctx.account.login("snowflake-warehouse-session", {"warehouse": "WH"}))
    assert snowflake_handlers.procedure_python(ctx, "p", procedure)[0] == "DB.S.P"


def test_a_seed_into_a_table_that_does_not_exist_is_refused(ctx: LocalContext):
    ctx.account.add("WAREHOUSE", "WH")
    ctx.in_session(ctx.account.login("p", {"warehouse": "WH"}))
    with pytest.raises(SnowflakeRefusedError, match=r"Object 'DB.S.T' does not exist or not authorized"):
        snowflake_handlers.execute(ctx, "seed", {"execute": "INSERT INTO DB.S.T (A) VALUES (1)"})


def test_a_schema_needs_its_database(ctx: LocalContext):
    with pytest.raises(SnowflakeRefusedError, match=r'Database "OTHER" does not exist'):
        snowflake_handlers.schema(ctx, "s", {"database": "OTHER", "name": "S"})


def test_a_stage_needs_its_integration_and_file_format(ctx: LocalContext):
    stage = {
        "database": "DB",
        "schema": "S",
        "name": "EVENTS_STAGE",
        "url": "s3://b/events/",
        "storageIntegration": "POC_EVENTS_S3",
        "fileFormat": {"formatName": '"DB"."S"."JSON_EVENTS"'},
    }
    with pytest.raises(SnowflakeRefusedError, match=r'Integration "POC_EVENTS_S3" does not exist'):
        snowflake_handlers.stage_external_s3(ctx, "stage", stage)
    ctx.account.add("INTEGRATION", "POC_EVENTS_S3")
    with pytest.raises(SnowflakeRefusedError, match=r'File Format "DB"."S"."JSON_EVENTS" does not exist'):
        snowflake_handlers.stage_external_s3(ctx, "stage", stage)


def test_a_pipe_needs_its_table_and_stage_under_the_names_snowflake_resolves(ctx: LocalContext):
    pipe = {
        "database": "DB",
        "schema": "S",
        "name": "P",
        "copyStatement": "COPY INTO DB.S.EVENTS FROM (SELECT $1 FROM @DB.S.EVENTS_STAGE)",
    }
    with pytest.raises(SnowflakeRefusedError, match=r'Table "DB"."S"."EVENTS" does not exist'):
        snowflake_handlers.pipe(ctx, "pipe", pipe)
    ctx.account.add("TABLE", "DB", "S", "EVENTS")
    # Created by the provider under a quoted lower-case name: the COPY's
    # unquoted @DB.S.EVENTS_STAGE does not resolve to it.
    ctx.account.add("STAGE", "DB", "S", "events_stage")
    with pytest.raises(SnowflakeRefusedError, match=r'Stage "DB"."S"."EVENTS_STAGE" does not exist'):
        snowflake_handlers.pipe(ctx, "pipe", pipe)


def test_a_view_needs_its_tables_and_a_warehouse(ctx: LocalContext):
    view = {"database": "DB", "schema": "S", "name": "V", "statement": "SELECT * FROM DB.S.EVENTS e JOIN DB.S.P p"}
    ctx.account.add("TABLE", "DB", "S", "EVENTS")
    with pytest.raises(SnowflakeRefusedError, match=r"Object 'DB.S.P' does not exist"):
        snowflake_handlers.view(ctx, "view", view)
    ctx.account.add("TABLE", "DB", "S", "P")
    ctx.in_session(ctx.account.login("admin", {"role": "ACCOUNTADMIN"}))
    with pytest.raises(SnowflakeRefusedError, match=r"No active warehouse selected"):
        snowflake_handlers.view(ctx, "view", view)


def test_grants_need_their_role_and_object(ctx: LocalContext):
    grant = {
        "accountRoleName": "READER",
        "privileges": ["SELECT"],
        "onSchemaObject": {"objectType": "VIEW", "objectName": "DB.S.ENRICHED_EVENTS"},
    }
    with pytest.raises(SnowflakeRefusedError, match=r'Role "READER" does not exist'):
        snowflake_handlers.grant_privileges(ctx, "grant", grant)
    ctx.account.add("ROLE", "READER")
    with pytest.raises(SnowflakeRefusedError, match=r'View "DB"."S"."ENRICHED_EVENTS" does not exist'):
        snowflake_handlers.grant_privileges(ctx, "grant", grant)
    with pytest.raises(SnowflakeRefusedError, match=r'User "DASHBOARD" does not exist'):
        snowflake_handlers.grant_account_role(ctx, "member", {"roleName": "READER", "userName": "DASHBOARD"})


def test_dropping_a_database_drops_what_it_holds():
    account = SnowflakeAccount()
    account.add("DATABASE", "DB")
    account.add("SCHEMA", "DB", "S")
    account.add("TABLE", "DB", "S", "T")
    account.add("WAREHOUSE", "WH")
    account.drop("DATABASE", "DB")
    assert not account.exists("TABLE", "DB", "S", "T")
    assert not account.exists("SCHEMA", "DB", "S")
    assert account.exists("WAREHOUSE", "WH"), "account-level objects outlive a database"
