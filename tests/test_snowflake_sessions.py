"""Which Snowflake session runs what: the rules a real account enforces at login and per statement.

The emulators accept any login, so these are checked on the graph itself
(and again, as refusals, by the strict local target: tests/e2e/test_strict_local_target.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pulumi_snowflake

from local_stack.account.dynamic_resources import reveal
from local_stack.engine.program_runner import ProgramRun, Registration, run_program
from local_stack.engine.pulumi_sdk import Unknown
from tests.fake_cloud import FakeCloud
from tests.test_program_graph import dev_stack

PROVIDER = "pulumi:providers:snowflake"
WAREHOUSE = "snowflake:index/warehouse:Warehouse"
EXECUTE = "snowflake:index/execute:Execute"


def _provider_of(run: ProgramRun, resource: Registration) -> Registration:
    # A provider reference is "<urn>::<id>" and the URN itself contains "::".
    urn = resource.provider.rsplit("::", 1)[0]
    assert urn in run.registrations, f"{resource.type} {resource.name} has no explicit Snowflake provider"
    return run.registrations[urn]


def test_the_admin_provider_logs_in_without_objects_the_stack_creates():
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
    assert reveal(session.inputs)["warehouse"] == warehouse.id == reveal(warehouse.outputs)["name"]
    assert warehouse.urn in session.dependencies, (
        "the warehouse-session provider must depend on the warehouse: it may only log in once it exists, "
        "and destroy must drop the warehouse only after everything that provider manages"
    )


def _documented_as_needing_a_warehouse(resource_type: str) -> bool:
    """The installed provider's own docs: "**Required warehouse** This resource may require active warehouse."."""
    class_name = resource_type.rsplit(":", 1)[1]
    module = sys.modules[getattr(pulumi_snowflake, class_name).__module__]
    return "**Required warehouse**" in Path(module.__file__).read_text(encoding="utf-8")


def test_statements_that_need_a_warehouse_run_in_warehouse_sessions():
    """Seeds (DML), and every resource pulumi-snowflake documents as "Required warehouse" (views: read back with a
    table function, #3067; Python procedures: 391531 at CREATE), use the warehouse session; all else the admin one.
    """
    run = dev_stack()
    seen = set()
    for resource in run.registrations.values():
        if not resource.custom or not resource.type.startswith("snowflake:"):
            continue
        needs = resource.type == EXECUTE or _documented_as_needing_a_warehouse(resource.type)
        provider = _provider_of(run, resource).name
        expected = "snowflake-warehouse-session" if needs else "snowflake"
        assert provider == expected, f"{resource.type} {resource.name} runs on provider {provider}, not {expected}"
        seen.add((resource.type, needs))
    expected_on_warehouse = {EXECUTE, "snowflake:index/view:View", "snowflake:index/procedurePython:ProcedurePython"}
    assert {t for t, needs in seen if needs} == expected_on_warehouse


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
    """If this fails after editing sql/snowflake_pipe.sql, that is expected: update the golden text, and know that
    `pulumi up` will REPLACE the pipe (new pipe, empty load history, files under the prefix may load twice).
    If it fails after upgrading a library, nothing in sql/ changed and the pipe must not be replaced: fix the code.
    """
    pipe = reveal(dev_stack().one("snowflake:index/pipe:Pipe").inputs)
    assert pipe["copyStatement"] == GOLDEN_DEV_COPY


def test_replacements_the_engine_forces_drop_the_named_object_first():
    """A resource replaced through replace_with is created before the old one is deleted unless it says otherwise
    (pulumi pkg/resource/deploy/step_generator.go); a named Snowflake object's plain CREATE then collides with the
    old object ("already exists").
    """
    run = dev_stack()
    forced = [r for r in run.registrations.values() if r.custom and r.replace_with]
    assert forced, "the pipe is replaced with its stage and integration (replace_with)"
    create_first = [f"{r.type} {r.name}" for r in forced if "name" in r.inputs and not r.delete_before_replace]
    assert not create_first, f"named resources replaced create-first, their CREATE would collide: {create_first}"


class FreshStackPreview(FakeCloud):
    """A first `pulumi preview`: a resource to be created answers with its planned inputs and no id
    (pulumi-terraform-bridge pkg/tfbridge/provider.go, Create with preview)."""

    def new_resource(self, args):
        resource_id, outputs = super().new_resource(args)
        if args.custom and not args.typ.startswith("pulumi:providers:"):
            return "", {**args.inputs}
        return resource_id, outputs


def test_a_fresh_stack_s_preview_leaves_the_session_provider_unconfigured():
    """The engine configures a provider whose inputs are all known (pulumi/pulumi providers/registry.go, Create):
    the session provider must have an unknown input in a first preview, or it logs in to a warehouse not yet made."""
    run = run_program(FreshStackPreview(), "dev", preview=True)
    session = run.named("snowflake-warehouse-session")
    assert isinstance(session.inputs["warehouse"], Unknown), (
        f"the session provider's warehouse is known in a fresh preview ({session.inputs['warehouse']!r}): "
        "the engine would log in with a warehouse that does not exist"
    )
    admin = run.named("snowflake")
    assert not any(isinstance(v, Unknown) for v in admin.inputs.values()), "the admin provider is configured"
