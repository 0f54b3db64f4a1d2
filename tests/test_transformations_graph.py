"""The Snowpark pieces in the Pulumi graph (mock runtime, Pulumi.dev.yaml): stream, procedure, task, tables."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from local_stack.account.dynamic_resources import reveal
from local_stack.engine.program_runner import ProgramRun
from tests.test_program_graph import dev_stack

ROOT = Path(__file__).resolve().parent.parent
STREAM = "snowflake:index/streamOnTable:StreamOnTable"
PROCEDURE = "snowflake:index/procedurePython:ProcedurePython"
TASK = "snowflake:index/task:Task"
TABLE = "snowflake:index/table:Table"


@pytest.fixture(scope="module")
def run() -> ProgramRun:
    return dev_stack()


def _named(run: ProgramRun, type_token: str, name: str):
    (found,) = [r for r in run.of_type(type_token) if reveal(r.outputs)["name"] == name]
    return found


def test_result_tables_have_the_columns_of_the_spec(run):
    funnel = [c["name"] for c in reveal(_named(run, TABLE, "SESSION_FUNNEL").outputs)["columns"]]
    assert funnel == [
        "SESSION_ID", "CUSTOMER_ID", "FIRST_EVENT_AT", "LAST_EVENT_AT", "EVENTS",
        "VIEWED", "ADDED_TO_CART", "PURCHASED", "UNITS_PURCHASED", "REVENUE",
    ]  # fmt: skip
    conversion = [c["name"] for c in reveal(_named(run, TABLE, "PRODUCT_CONVERSION").outputs)["columns"]]
    assert conversion == [
        "PRODUCT_ID", "EVENT_DATE", "CATEGORY", "VIEWS", "ADD_TO_CARTS", "PURCHASES",
        "UNITS_PURCHASED", "REVENUE", "VIEW_TO_PURCHASE_RATE",
    ]  # fmt: skip


def test_stream_watches_the_events_table_append_only(run):
    stream = reveal(run.one(STREAM).outputs)
    events = reveal(_named(run, TABLE, "ECOMMERCE_EVENTS").outputs)
    assert stream["table"] == events["fullyQualifiedName"]
    assert stream["appendOnly"] == "true"


def test_task_runs_the_procedure_on_its_schedule_when_the_stream_has_data_and_is_resumed(run):
    task = run.one(TASK)
    spec = reveal(task.outputs)
    db, schema = run.exports["database"], run.exports["schema"]
    stream = f"{db}.{schema}.{reveal(run.one(STREAM).outputs)['name']}"
    procedure = f"{db}.{schema}.{reveal(run.one(PROCEDURE).outputs)['name']}"
    assert spec["started"] is True, "the deploy must resume the task; a created task is suspended"
    assert spec["schedule"] == {"minutes": 15}, "Pulumi.yaml's transformationScheduleMinutes (docs/cost.md)"
    assert spec["when"] == f"SYSTEM$STREAM_HAS_DATA('{stream}')"
    tables = ("ECOMMERCE_EVENTS", "PRODUCTS", "SESSION_FUNNEL", "PRODUCT_CONVERSION")
    arguments = ", ".join(f"'{name}'" for name in (stream, *(f"{db}.{schema}.{t}" for t in tables)))
    assert spec["sqlStatement"] == f"CALL {procedure}({arguments})"
    for dependency in (run.one(STREAM), run.one(PROCEDURE), _named(run, TABLE, "SESSION_FUNNEL")):
        assert dependency.urn in task.dependencies, f"the task must wait for {dependency.name}"


def test_procedure_ships_the_package_files_and_runs_without_the_repository(run, tmp_path):
    procedure = reveal(run.one(PROCEDURE).outputs)
    assert (procedure["handler"], procedure["runtimeVersion"], procedure["executeAs"]) == ("run", "3.11", "OWNER")
    assert [a["argDataType"] for a in procedure["arguments"]] == ["VARCHAR"] * 5
    definition = procedure["procedureDefinition"]
    for module in ("conversion", "refresh", "procedure"):
        source = (ROOT / "transformations" / f"{module}.py").read_text()
        assert repr(source) in definition, f"transformations/{module}.py must be deployed verbatim"
    # Outside the repository (-I, another cwd): the definition alone must
    # provide the handler, as in Snowflake, where only the text exists.
    script = tmp_path / "definition.py"
    script.write_text(definition + "\nprint(run.__module__, run.__code__.co_filename)\n")
    loaded = subprocess.run([sys.executable, "-I", str(script)], cwd=tmp_path, capture_output=True, text=True)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert loaded.stdout.split() == ["transformations.procedure", "transformations/procedure.py"]


# What a stack deployed before the transformation and pipe health became one component each holds for the
# children that moved (read from that program's URNs under the same mocks).
MOVED_CHILDREN_BEFORE = {
    "urn:pulumi:dev::ecommerce-analytics::ecommerce:transformations:ConversionProcedure"
    "$snowflake:index/procedurePython:ProcedurePython::conversion-procedure-procedure",
    "urn:pulumi:dev::ecommerce-analytics::ecommerce:transformations:ConversionFunnel"
    "$snowflake:index/view:View::conversion-funnel-view",
    *(
        "urn:pulumi:dev::ecommerce-analytics::ecommerce:transformations:ConversionReader"
        f"$snowflake:index/grantPrivilegesToAccountRole:GrantPrivilegesToAccountRole::conversion-reader-select-{t}"
        for t in ("session-funnel", "product-conversion", "conversion-funnel")
    ),
    "urn:pulumi:dev::ecommerce-analytics::ecommerce:analytics:PipeHealthReader"
    "$snowflake:index/grantPrivilegesToAccountRole:GrantPrivilegesToAccountRole::pipe-health-reader-select",
}


def test_moved_children_are_aliased_to_the_urns_an_existing_stack_holds(run):
    """A child whose component changed keeps its name and names its old parent, so `pulumi up` does not replace it."""
    aliased = {}
    for r in run.registrations.values():
        for old_parent in r.alias_parents:
            parent_types = old_parent.split("::")[2]
            aliased[f"{old_parent.rsplit('::', 2)[0]}::{parent_types}${r.type}::{r.name}"] = r
    assert set(aliased) == MOVED_CHILDREN_BEFORE
    parents = {r.parent.rsplit("::", 1)[-1] for r in aliased.values()}
    assert parents == {"transformations", "pipe-health"}, "each moved child is under its domain's component now"


def test_only_the_procedure_and_view_use_the_warehouse_session(run):
    """The component takes the admin provider by default; the two children that need a warehouse say so."""
    children = [r for r in run.registrations.values() if r.parent.endswith(("::transformations", "::pipe-health"))]
    on_warehouse = {r.name for r in children if r.provider.split("::")[-2] == "snowflake-warehouse-session"}
    assert on_warehouse == {"conversion-procedure-procedure", "conversion-funnel-view", "pipe-health-view"}
