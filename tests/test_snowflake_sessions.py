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
