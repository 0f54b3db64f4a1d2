"""`make preflight` on the local account, broken one way at a time: each check fails naming the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from local_stack.account.snowflake_account import SnowflakeAccount
from local_stack.engine.program_runner import stack_config
from local_stack.services.state import ACCOUNT_FILE, write_document
from smoke import preflight

NS = "ecommerce-analytics"
DEPLOYER = "POC_DEPLOYER"
README_PRIVILEGES = ("CREATE INTEGRATION", "CREATE DATABASE", "CREATE ROLE", "CREATE USER", "MANAGE GRANTS",
                     "EXECUTE TASK", "EXECUTE MANAGED TASK")  # fmt: skip


def _account(tmp_path: Path, account: SnowflakeAccount) -> preflight.LocalAccountProbe:
    write_document(tmp_path, ACCOUNT_FILE, {"stages": {}, "account": account.to_json()})
    return preflight.LocalAccountProbe(tmp_path)


def _deployer(privileges=README_PRIVILEGES, warehouse_usage: bool = True) -> SnowflakeAccount:
    account = SnowflakeAccount()
    account.add("ROLE", DEPLOYER)
    account.grant(DEPLOYER, *privileges)
    account.add("WAREHOUSE", "POC_ADMIN_WH")
    if warehouse_usage:
        account.grant(DEPLOYER, "USAGE ON WAREHOUSE POC_ADMIN_WH")
    return account


def _run(probe, overrides=None, environ=None, cli="v3.272.0", needs_cli=False) -> dict[str, preflight.Finding]:
    config = {**stack_config("local"), **(overrides or {})}
    findings = preflight.run_checks(config, probe, environ or {}, cli, needs_cli=needs_cli)
    return {f.check: f for f in findings}


def _failed(found: dict[str, preflight.Finding]) -> list[str]:
    return sorted(name for name, f in found.items() if f.ok is False)


def test_a_ready_account_passes_and_the_anaconda_terms_are_left_to_a_human(tmp_path):
    found = _run(_account(tmp_path, SnowflakeAccount()))
    assert _failed(found) == []
    assert found["anaconda terms"].ok is None and "ORGADMIN" in found["anaconda terms"].detail


def test_a_role_that_does_not_exist_fails_the_login(tmp_path):
    found = _run(_account(tmp_path, SnowflakeAccount()), {f"{NS}:snowflakeAdminRole": "NOPE"})
    assert _failed(found) == ["login"] and "Role 'NOPE'" in found["login"].detail


def test_the_readme_role_without_execute_task(tmp_path):
    account = _deployer(tuple(p for p in README_PRIVILEGES if p != "EXECUTE TASK"))
    found = _run(
        _account(tmp_path, account),
        {f"{NS}:snowflakeAdminRole": DEPLOYER, f"{NS}:existingWarehouse": "POC_ADMIN_WH"},
    )
    assert _failed(found) == ["account privileges"]
    assert found["account privileges"].detail == "role POC_DEPLOYER lacks EXECUTE TASK"
    assert found["account privileges"].fix == "as ACCOUNTADMIN: GRANT EXECUTE TASK ON ACCOUNT TO ROLE POC_DEPLOYER"


def test_a_custom_role_needs_an_existing_warehouse_it_may_use(tmp_path):
    found = _run(_account(tmp_path, _deployer()), {f"{NS}:snowflakeAdminRole": DEPLOYER})
    assert _failed(found) == ["account privileges", "resource monitor"], "and CREATE WAREHOUSE is missing"
    assert "existingWarehouse" in found["resource monitor"].fix

    found = _run(
        _account(tmp_path, _deployer(warehouse_usage=False)),
        {f"{NS}:snowflakeAdminRole": DEPLOYER, f"{NS}:existingWarehouse": "POC_ADMIN_WH"},
    )
    assert _failed(found) == ["existing warehouse"]


def test_a_snowpark_pin_the_account_does_not_offer(tmp_path, monkeypatch):
    monkeypatch.setattr(preflight, "PROCEDURE_SNOWPARK_VERSION", "99.0.0")
    found = _run(_account(tmp_path, SnowflakeAccount()))
    assert _failed(found) == ["snowpark package"]
    assert "snowflake-snowpark-python==99.0.0 for Python 3.11" in found["snowpark package"].detail


def test_a_region_other_than_the_account_s(tmp_path):
    account = SnowflakeAccount()
    account.region = "AWS_EU_WEST_1"
    found = _run(_account(tmp_path, account))
    assert _failed(found) == ["region"]
    assert found["region"].fix.startswith("pulumi config set aws:region eu-west-1")


@pytest.mark.parametrize("variable", ["SNOWFLAKE_WAREHOUSE", "SNOWFLAKE_DATABASE", "SNOWFLAKE_SCHEMA"])
def test_an_exported_default_naming_a_stack_object(tmp_path, variable):
    value = {"SNOWFLAKE_WAREHOUSE": "ECOMMERCE_POC_WH", "SNOWFLAKE_DATABASE": "ECOMMERCE_POC"}.get(
        variable, "ANALYTICS"
    )
    found = _run(_account(tmp_path, SnowflakeAccount()), environ={variable: value})
    assert _failed(found) == ["environment"] and variable in found["environment"].fix


@pytest.mark.parametrize(("cli", "ok"), [("v3.272.0", True), ("v3.207.0", True), ("v3.206.9", False), (None, False)])
def test_the_pulumi_cli_version(tmp_path, cli, ok):
    found = _run(_account(tmp_path, SnowflakeAccount()), cli=cli, needs_cli=True)
    assert found["pulumi cli"].ok is ok


def test_region_names_map_as_snowflake_lists_them():
    assert preflight.aws_region_of("AWS_US_EAST_1") == "us-east-1"
    assert preflight.aws_region_of("AWS_AP_SOUTHEAST_2") == "ap-southeast-2"
