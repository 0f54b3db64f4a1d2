"""The Pulumi program's graph, evaluated by the SDK's mock runtime against a made-up cloud.

Every test here would fail if one of the wires that make the pipeline work
(trust, ARNs, prefixes, queue, pipe, view order) or a security rule broke.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import pulumi_snowflake
import pytest
import sqlglot
from sqlglot import exp

from local_stack.account.dynamic_resources import reveal
from local_stack.engine.program_runner import ProgramRun, run_program
from tests.fake_cloud import ACCOUNT_ID, SNOWFLAKE_IAM_USER_ARN, FakeCloud

BUCKET = "aws:s3/bucket:Bucket"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
INTEGRATION = "snowflake:index/storageIntegrationAws:StorageIntegrationAws"
STAGE = "snowflake:index/stageExternalS3:StageExternalS3"
PIPE = "snowflake:index/pipe:Pipe"
TABLE = "snowflake:index/table:Table"
VIEW = "snowflake:index/view:View"
NOTIFICATION = "aws:s3/bucketNotification:BucketNotification"
FILE_FORMAT = "snowflake:index/fileFormatJson:FileFormatJson"
DYNAMIC = "pulumi-python:dynamic:Resource"
NOTIFICATION_INTEGRATION = "snowflake:index/notificationIntegration:NotificationIntegration"

# The chain the design needs: the integration needs the bucket; the role
# trusts the integration's user; Snowflake may only use the role once its
# policy exists and IAM has propagated; the stage uses the role; the pipe
# reads the stage; the notification needs the pipe's queue.
DESIGNED_CRITICAL_PATH = [BUCKET, INTEGRATION, ROLE, ROLE_POLICY, DYNAMIC, STAGE, PIPE, NOTIFICATION]


DEV_CLOUD = FakeCloud()


@cache
def dev_stack() -> ProgramRun:
    """Pulumi.dev.yaml alone, exactly as committed (no overrides)."""
    return run_program(DEV_CLOUD, "dev")


@pytest.fixture(scope="module")
def run() -> ProgramRun:
    return dev_stack()


def outputs(run: ProgramRun, type_token: str) -> dict:
    return reveal(run.one(type_token).outputs)


def outputs_of(run: ProgramRun, name: str) -> dict:
    return reveal(run.named(name).outputs)


def test_dev_stack_evaluates_from_its_file_alone(run):
    expected = {
        "bucket", "events_prefix", "stage", "pipe", "notification_channel", "enriched_events_view",
        "snowflake_role_arn", "database", "schema", "warehouse", "dashboard_user", "dashboard_role",
    }  # fmt: skip
    missing = expected - set(run.exports)
    assert not missing, f"stack exports are missing {sorted(missing)}: producers and dashboards need them"


def test_trust_policy_names_the_integration_user_and_requires_its_external_id(run):
    integration = outputs(run, INTEGRATION)
    described = integration["describeOutputs"][0]
    trust = json.loads(outputs_of(run, "snowflake-access-role")["assumeRolePolicy"])
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"AWS": SNOWFLAKE_IAM_USER_ARN}, (
        f"role trusts {statement['Principal']}, not the storage integration's IAM user"
    )
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": described["externalId"]}}, (
        "trust policy must require the integration's external id"
    )
    external_id = next(r for r in run.of_type(DYNAMIC) if r.name.endswith("external-id"))
    assert integration["storageAwsExternalId"] == reveal(external_id.outputs)["value"], (
        "the integration must use the stack's own external id so a replaced integration keeps the trust"
    )
    assert run.exports["snowflake_external_id"] == described["externalId"]


def test_precomputed_role_arn_is_the_real_role_arn(run):
    precomputed = outputs(run, INTEGRATION)["storageAwsRoleArn"]
    actual = outputs_of(run, "snowflake-access-role")["arn"]
    assert precomputed == actual, f"integration was given {precomputed} but the role is {actual}"
    assert f":{ACCOUNT_ID}:" in precomputed
    assert run.exports["snowflake_role_arn"] == actual


def test_stage_bucket_prefix_policy_and_notification_agree(run):
    bucket = outputs(run, BUCKET)
    prefix = run.exports["events_prefix"]
    events_url = f"s3://{bucket['bucket']}/{prefix}"
    assert outputs(run, STAGE)["url"] == events_url, "stage must read exactly the bucket's events prefix"
    assert outputs(run, INTEGRATION)["storageAllowedLocations"] == [events_url], (
        "integration may allow the events prefix only"
    )
    policy = json.loads(outputs_of(run, "snowflake-access-read-events")["policy"])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["ReadEventFiles"]["Resource"] == f"{bucket['arn']}/{prefix}*"
    assert by_sid["ListEventFiles"]["Condition"] == {"StringLike": {"s3:prefix": [f"{prefix}*"]}}, (
        "ListBucket must be limited to the events prefix"
    )
    notification = outputs(run, NOTIFICATION)
    assert notification["bucket"] == bucket["bucket"]
    (queue,) = notification["queues"]
    assert queue["filterPrefix"] == prefix, "notification must fire for the stage's prefix only"
    assert queue["events"] == ["s3:ObjectCreated:*"]


def test_notification_sends_to_the_pipe_channel(run):
    (queue,) = outputs(run, NOTIFICATION)["queues"]
    channel = outputs(run, PIPE)["notificationChannel"]
    assert queue["queueArn"] == channel, f"bucket notifies {queue['queueArn']}, the pipe listens on {channel}"
    assert len(run.of_type(NOTIFICATION)) == 1, "a bucket has ONE notification configuration; a second overwrites"
    assert run.exports["notification_channel"] == channel


def test_pipe_copies_from_the_stage_into_ecommerce_events(run):
    pipe = outputs(run, PIPE)
    stage = outputs(run, STAGE)
    file_format = outputs(run, FILE_FORMAT)
    assert pipe["autoIngest"] is True, "the pipe must auto-ingest from S3 notifications"
    copy = sqlglot.parse_one(pipe["copyStatement"], read="snowflake")
    assert isinstance(copy, exp.Copy)
    target = copy.this
    assert (target.catalog, target.db, target.name.upper()) == (pipe["database"], pipe["schema"], "ECOMMERCE_EVENTS")
    text = pipe["copyStatement"]
    assert f"@{stage['database']}.{stage['schema']}.{stage['name']}" in text, "COPY must read the declared stage"
    fmt = f"{file_format['database']}.{file_format['schema']}.{file_format['name']}"
    assert f"FORMAT_NAME = '{fmt}'" in text
    assert (
        stage["fileFormat"]["formatName"]
        == file_format["fullyQualifiedName"]
        == '"ECOMMERCE_DEV"."ANALYTICS"."JSON_EVENTS"'
    ), "the stage must name its format by the format's own fully qualified name (the provider's documented way)"
    assert "ON_ERROR = SKIP_FILE" in text
    assert "METADATA$FILENAME" in text and "METADATA$START_SCAN_TIME" in text
    assert "CURRENT_TIMESTAMP" not in text.upper(), "a pipe's COPY must not use CURRENT_TIMESTAMP"
    pipe_reg = run.one(PIPE)
    for needed in (run.one(STAGE), run.named("tables-ecommerce_events")):
        assert needed.urn in pipe_reg.dependencies, f"pipe must be created after {needed.name}"


def test_projection_maps_onto_every_column_of_the_target_table(run):
    copy = sqlglot.parse_one(outputs(run, PIPE)["copyStatement"], read="snowflake")
    select = copy.find(exp.Select)
    table = (
        outputs(run, TABLE) if len(run.of_type(TABLE)) == 1 else reveal(run.named("tables-ecommerce_events").outputs)
    )
    assert len(select.expressions) == len(table["columns"]), (
        "the pipe's SELECT maps positionally onto ECOMMERCE_EVENTS: one expression per column"
    )


# Literal Snowflake types, as written in sql/table_ddl.sql (read it to check):
# the program must declare these, whatever parses the file.
TABLE_COLUMNS = {
    "ECOMMERCE_EVENTS": [
        ("EVENT_ID", "VARCHAR", False),
        ("EVENT_TYPE", "VARCHAR", False),
        ("EVENT_TIMESTAMP", "TIMESTAMP_NTZ", False),
        ("CUSTOMER_ID", "NUMBER(38,0)", False),
        ("PRODUCT_ID", "NUMBER(38,0)", False),
        ("QUANTITY", "NUMBER(38,0)", False),
        ("SESSION_ID", "VARCHAR", True),
        ("RAW_EVENT", "VARIANT", False),
        ("SOURCE_FILE", "VARCHAR", False),
        ("LOADED_AT", "TIMESTAMP_LTZ", False),
    ],
    "PRODUCTS": [
        ("PRODUCT_ID", "NUMBER(38,0)", False),
        ("NAME", "VARCHAR", False),
        ("CATEGORY", "VARCHAR", False),
        ("PRICE", "NUMBER(10,2)", False),
    ],
    "CUSTOMERS": [
        ("CUSTOMER_ID", "NUMBER(38,0)", False),
        ("NAME", "VARCHAR", False),
        ("AGE_GROUP", "VARCHAR", False),
        ("LOCATION", "VARCHAR", False),
    ],
}


def test_tables_are_declared_from_table_ddl(run):
    declared_tables = {reveal(t.outputs)["name"] for t in run.of_type(TABLE) if t.name.startswith("tables-")}
    assert declared_tables == set(TABLE_COLUMNS), f"tables declared: {sorted(declared_tables)}"
    for name, columns in TABLE_COLUMNS.items():
        table = reveal(run.named(f"tables-{name.lower()}").outputs)
        declared = [(c["name"], c["type"], c["nullable"]) for c in table["columns"]]
        assert declared == columns, f"table {name} columns differ from sql/table_ddl.sql:\n{declared}"


def test_views_are_created_after_the_tables_they_read(run):
    db, schema = run.exports["database"], run.exports["schema"]
    tables = {f"{db}.{schema}.{reveal(t.outputs)['name']}": t for t in run.of_type(TABLE)}
    read_by = {}
    for view in run.of_type(VIEW):
        parsed = sqlglot.parse_one(reveal(view.outputs)["statement"], read="snowflake")
        referenced = {exp.table_name(t).upper() for t in parsed.find_all(exp.Table)}
        read_by[reveal(view.outputs)["name"]] = referenced
        # PIPE_LOAD_HISTORY reads INFORMATION_SCHEMA.COPY_HISTORY, no table of ours.
        for table in referenced & set(tables):
            assert tables[table].urn in view.dependencies, f"view {view.name} must wait for {table}"
    assert read_by["ENRICHED_EVENTS"] == {f"{db}.{schema}.{t}" for t in ("ECOMMERCE_EVENTS", "PRODUCTS", "CUSTOMERS")}
    assert read_by["CONVERSION_FUNNEL"] == {f"{db}.{schema}.SESSION_FUNNEL"}


def test_reference_data_is_loaded_after_its_table(run):
    for seed_name, table_name in (
        ("reference-data-products", "tables-products"),
        ("reference-data-customers", "tables-customers"),
    ):
        seed = run.named(seed_name)
        assert run.named(table_name).urn in seed.dependencies, f"{seed_name} must run after {table_name} exists"
        assert reveal(seed.outputs)["execute"].startswith("INSERT OVERWRITE INTO"), "seeding must be re-runnable"


def test_snowflake_access_policy_is_least_privilege(run):
    bucket_arn = outputs(run, BUCKET)["arn"]
    policy = json.loads(outputs_of(run, "snowflake-access-read-events")["policy"])
    actions = set()
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        granted = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        actions.update(granted)
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for resource in resources:
            assert resource.startswith(bucket_arn), f"policy grants access to {resource}, outside the events bucket"
    assert actions == {"s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:GetBucketLocation"}, (
        f"Snowflake's role may only read: got {sorted(actions)}"
    )
    assert not any("*" in a for a in actions), "no wildcard actions"


def test_bucket_is_private_encrypted_versioned_and_tls_only(run):
    block = outputs(run, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
        assert block[flag] is True, f"public access block {flag} must be on"
    versioning = outputs(run, "aws:s3/bucketVersioning:BucketVersioning")
    assert versioning["versioningConfiguration"]["status"] == "Enabled"
    sse = outputs(run, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert sse["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] in ("AES256", "aws:kms")
    policy = json.loads(outputs(run, "aws:s3/bucketPolicy:BucketPolicy")["policy"])
    deny = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert deny and deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}, (
        "non-TLS requests must be denied"
    )


def _documented_preview_features() -> set[str]:
    """The preview feature names the installed pulumi-snowflake documents on its provider's
    preview_features_enabled argument (the list between "can be enabled are:" and "Promoted features")."""
    text = (Path(pulumi_snowflake.__file__).parent / "provider.py").read_text(encoding="utf-8")
    listing = re.search(r"Preview features that can be enabled are: (.*?)\. Promoted features", text)
    assert listing, "pulumi_snowflake/provider.py no longer documents its preview features: re-check the parser"
    return set(re.findall(r"<code>(\w+)</code>", listing.group(1)))


def _feature_name(type_token: str) -> str:
    """snowflake:index/dynamicTable:DynamicTable -> snowflake_dynamic_table_resource (the provider's naming)."""
    module = type_token.split("/")[1].split(":")[0]
    return "snowflake_" + re.sub(r"(?<!^)(?=[A-Z])", "_", module).lower() + "_resource"


def test_feature_names_follow_the_provider_documentation():
    documented = _documented_preview_features()
    assert {"snowflake_table_resource", "snowflake_pipe_resource", "snowflake_dynamic_table_resource"} <= documented
    assert _feature_name("snowflake:index/dynamicTable:DynamicTable") == "snowflake_dynamic_table_resource"
    assert _feature_name(STAGE) == "snowflake_stage_external_s3_resource"
    assert _feature_name(STAGE) not in documented, "StageExternalS3 is promoted (stable), not preview"


def test_provider_enables_exactly_the_preview_resources_used(run):
    """The preview resources are derived from the types the program registers, so a new one counts."""
    documented = _documented_preview_features()
    snowflake_types = {r.type for r in run.registrations.values() if r.custom and r.type.startswith("snowflake:")}
    used = {_feature_name(t) for t in snowflake_types} & documented
    assert used >= {"snowflake_table_resource", "snowflake_pipe_resource"}, f"preview resources found: {used}"
    providers = run.of_type("pulumi:providers:snowflake")
    assert providers, "the program must declare its Snowflake provider(s) explicitly"
    for provider in providers:
        settings = reveal(provider.outputs)
        enabled = set(json.loads(settings["previewFeaturesEnabled"]))
        assert enabled == used, (
            f"provider {provider.name} enables {sorted(enabled)} but the program uses {sorted(used)}: "
            "the provider refuses a preview resource it was not told about, and an unused one widens the risk"
        )
        for credential in ("password", "privateKey", "privateKeyPassphrase", "token"):
            assert credential not in settings, f"provider credential {credential} must come from the environment"


def test_iam_wait_holds_the_configured_seconds_without_sleeping_in_tests(run):
    """Pulumi.dev.yaml's iamPropagationSeconds: 15 reaches the wait, between the role policy and the stage.

    The made-up cloud answers the wait without sleeping, so tests do not sleep 15 s;
    what it was asked to wait is asserted instead.
    """
    wait = run.named("snowflake-access-iam-propagation")
    assert reveal(wait.inputs)["seconds"] == 15, "the wait must be iamPropagationSeconds from Pulumi.dev.yaml"
    assert run.named("snowflake-access-read-events").urn in wait.dependencies, "the wait starts once the policy exists"
    assert wait.urn in run.one(STAGE).dependencies, "the stage must wait for IAM propagation"
    # One wait per IAM role Snowflake assumes: the storage integration's and the error notifications'.
    assert DEV_CLOUD.iam_waits == [15, 15], f"the made-up cloud was asked to wait {DEV_CLOUD.iam_waits} s"


def test_warehouse_costs_nothing_while_idle(run):
    warehouse = outputs(run, "snowflake:index/warehouse:Warehouse")
    assert warehouse["warehouseSize"] == "XSMALL"
    assert warehouse["autoSuspend"] == 60
    assert warehouse["initiallySuspended"] is True


def test_dashboard_role_reads_only_the_views_and_result_tables(run):
    grants = [
        reveal(r.outputs)
        for r in run.of_type("snowflake:index/grantPrivilegesToAccountRole:GrantPrivilegesToAccountRole")
    ]
    privileges = sorted(p for g in grants for p in g["privileges"])
    assert privileges == ["SELECT"] * 7 + ["USAGE"] * 3, f"dashboard role grants: {privileges}"
    selects = {
        (g["onSchemaObject"]["objectType"], g["onSchemaObject"]["objectName"].rsplit(".", 1)[1])
        for g in grants
        if g["privileges"] == ["SELECT"]
    }
    # Never the raw events or reference tables: only what the dashboards chart.
    assert selects == {
        ("VIEW", "ENRICHED_EVENTS"),
        ("VIEW", "PIPE_LOAD_HISTORY"),
        ("VIEW", "INGEST_LAG"),
        ("VIEW", "CONVERSION_FUNNEL"),
        ("TABLE", "SESSION_FUNNEL"),
        ("TABLE", "PRODUCT_CONVERSION"),
        ("TABLE", "CREDIT_ESTIMATE"),
    }
    assert {g["accountRoleName"] for g in grants} == {run.exports["dashboard_role"]}
    user = outputs(run, "snowflake:index/serviceUser:ServiceUser")
    assert user["defaultRole"] == run.exports["dashboard_role"]


def _longest_chain(run: ProgramRun) -> list[str]:
    """Longest chain of dependent creates among custom resources (dependencies on components expand to children)."""
    regs = run.registrations
    children: dict[str, list[str]] = {}
    for reg in regs.values():
        children.setdefault(reg.parent, []).append(reg.urn)

    def custom_descendants(urn: str) -> set[str]:
        if regs[urn].custom:
            return {urn}
        return set().union(*(custom_descendants(c) for c in children.get(urn, [])))

    memo: dict[str, list[str]] = {}

    def chain(urn: str) -> list[str]:
        if urn not in memo:
            upstream = set().union(*(custom_descendants(d) for d in regs[urn].dependencies if d in regs))
            longest = max((chain(u) for u in upstream), key=len, default=[])
            memo[urn] = [*longest, urn]
        return memo[urn]

    return max((chain(u) for u, r in regs.items() if r.custom), key=len)


def test_critical_path_does_not_grow_beyond_the_design(run):
    path = [run.registrations[u].type for u in _longest_chain(run)]
    assert len(path) <= len(DESIGNED_CRITICAL_PATH), (
        f"critical path grew to {len(path)} dependent creates: {' -> '.join(path)}"
    )
    # The first step ties between the bucket and the external id (both feed the integration).
    assert path[1:] == DESIGNED_CRITICAL_PATH[1:], f"critical path changed: {' -> '.join(path)}"
