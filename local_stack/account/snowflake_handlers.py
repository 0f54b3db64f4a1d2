"""Snowflake resource types of the program, created in the fakesnow server. One function per type.

Every handler first checks, in the account catalogue (snowflake_account.py),
what Snowflake checks when the object is created: the objects it references
exist under the names Snowflake would resolve, and statements that touch rows
run in a session with a warehouse. What fakesnow cannot hold (warehouses,
roles, grants, users, integrations) is catalogued and recorded in
.local/snowflake_objects.json. The storage integration answers with an IAM
user created in moto; creating the stage checks, as Snowflake does when it
first assumes the role, that the role trusts that user with the external id
and may read the stage's prefix. The pipe becomes an SQS queue in moto whose
ARN is its notification_channel, registered for the local Snowpipe worker
with the SNS topic of its error integration. A notification integration also
answers with an IAM user created in moto; a warehouse must name an existing
resource monitor.

DELETERS undo each type for `destroy`, in the session of a fresh login.
"""

from __future__ import annotations

import ast
import json
import re
import secrets
from fnmatch import fnmatchcase

from infra.sql_source import is_streaming_copy
from local_stack.account import streaming_pipes
from local_stack.account.context import Deleter, Handler, LocalContext, Outputs
from local_stack.account.dynamic_resources import reveal
from local_stack.account.snowflake_account import (
    PYTHON_PROCEDURE_NEEDS_WAREHOUSE,
    SnowflakeRefusedError,
    split_qualified,
)
from local_stack.errors import LocalDeployError
from local_stack.services import sql_reading
from local_stack.services.checkpoint import StateResource
from local_stack.services.sql_reading import needs_warehouse, tables_named
from local_stack.services.state import Pipe
from local_stack.snowpipe import load_history
from local_stack.snowpipe.copy_plan import CopyPlanError, copy_references
from local_stack.tasks.spec import PROCEDURE, STREAM, TASK, TaskSpecError, parse_call, stream_of_condition

WAREHOUSE = "snowflake:index/warehouse:Warehouse"
ACCOUNT_ROLE = "snowflake:index/accountRole:AccountRole"
SERVICE_USER = "snowflake:index/serviceUser:ServiceUser"
GRANT_PRIVILEGES = "snowflake:index/grantPrivilegesToAccountRole:GrantPrivilegesToAccountRole"
GRANT_ROLE = "snowflake:index/grantAccountRole:GrantAccountRole"
STORAGE_INTEGRATION = "snowflake:index/storageIntegrationAws:StorageIntegrationAws"
NOTIFICATION_INTEGRATION = "snowflake:index/notificationIntegration:NotificationIntegration"
RESOURCE_MONITOR = "snowflake:index/resourceMonitor:ResourceMonitor"


def _path(inputs: Outputs) -> tuple[str, str, str]:
    # The provider quotes the names it is given: they are kept exactly.
    return inputs["database"], inputs["schema"], inputs["name"]


def _sql_name(*parts: str) -> str:
    """A name as the provider writes it (quoted parts), for outputs such as fullyQualifiedName."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in parts)


def _emulator_name(*parts: str) -> str:
    """The same name for fakesnow, which resolves names case-insensitively: the catalogue checked them."""
    return ".".join(parts)


def _with_fqn(inputs: Outputs) -> Outputs:
    return {**inputs, "fullyQualifiedName": _sql_name(*_path(inputs))}


def _in_schema(ctx: LocalContext, inputs: Outputs, what: str) -> tuple[str, str, str]:
    database, schema, name = _path(inputs)
    ctx.account.require("SCHEMA", database, schema, needed_by=what)
    return database, schema, name


# ---------------------------------------------------------------- account objects


def resource_monitor(ctx: LocalContext, name: str, inputs: Outputs) -> tuple[str, Outputs]:
    ctx.account.require_account_admin(
        ctx.session, f"resource monitor {inputs['name']}", "Only account administrators create resource monitors"
    )
    ctx.account.add("RESOURCE MONITOR", inputs["name"])
    ctx.record(RESOURCE_MONITOR, name, reveal(inputs))
    return inputs["name"], {**inputs, "fullyQualifiedName": _sql_name(inputs["name"])}


def warehouse(ctx: LocalContext, name: str, inputs: Outputs) -> tuple[str, Outputs]:
    what = f"warehouse {inputs['name']}"
    ctx.account.require_privilege(ctx.session, "CREATE WAREHOUSE", what)
    if inputs.get("resourceMonitor"):
        ctx.account.require_account_admin(ctx.session, what, "Only ACCOUNTADMIN assigns a resource monitor")
        # CREATE WAREHOUSE ... RESOURCE_MONITOR = <name> fails for a monitor that does not exist.
        ctx.account.require("RESOURCE MONITOR", inputs["resourceMonitor"], needed_by=what)
    ctx.account.add("WAREHOUSE", inputs["name"])
    if ctx.session and ctx.session.role:
        ctx.account.grant(ctx.session.role, f"OWNERSHIP ON WAREHOUSE {inputs['name']}")
    ctx.record(WAREHOUSE, name, reveal(inputs))
    return inputs["name"], {**inputs, "fullyQualifiedName": _sql_name(inputs["name"])}


def account_role(ctx: LocalContext, name: str, inputs: Outputs) -> tuple[str, Outputs]:
    ctx.account.require_privilege(ctx.session, "CREATE ROLE", f"role {inputs['name']}")
    ctx.account.add("ROLE", inputs["name"])
    ctx.record(ACCOUNT_ROLE, name, reveal(inputs))
    return inputs["name"], {**inputs, "fullyQualifiedName": _sql_name(inputs["name"])}


def service_user(ctx: LocalContext, name: str, inputs: Outputs) -> tuple[str, Outputs]:
    # Snowflake does not check a user's default role, warehouse or namespace at CREATE USER.
    ctx.account.require_privilege(ctx.session, "CREATE USER", f"user {inputs['name']}")
    ctx.account.add("USER", inputs["name"])
    ctx.record(SERVICE_USER, name, reveal(inputs))
    return inputs["name"], {**inputs, "fullyQualifiedName": _sql_name(inputs["name"])}


def _grant_target(inputs: Outputs) -> tuple[str, tuple[str, ...]]:
    """(kind, name parts) of what a GrantPrivilegesToAccountRole grants on."""
    if target := inputs.get("onAccountObject"):
        return target["objectType"], (target["objectName"],)
    if target := inputs.get("onSchema"):
        return "SCHEMA", split_qualified(target["schemaName"])
    if target := inputs.get("onSchemaObject"):
        return target["objectType"], split_qualified(target["objectName"])
    raise LocalDeployError("the grant names no object (on_account_object, on_schema or on_schema_object)")


def grant_privileges(ctx: LocalContext, name: str, inputs: Outputs) -> tuple[str, Outputs]:
    what = f"grant {name}"
    ctx.account.require("ROLE", inputs["accountRoleName"], needed_by=what)
    kind, parts = _grant_target(inputs)
    ctx.account.require(kind, *parts, needed_by=what)
    ctx.record(GRANT_PRIVILEGES, name, reveal(inputs))
    return name, inputs


def grant_account_role(ctx: LocalContext, name: str, inputs: Outputs) -> tuple[str, Outputs]:
    what = f"grant {name}"
    ctx.account.require("ROLE", inputs["roleName"], needed_by=what)
    if inputs.get("userName"):
        ctx.account.require("USER", inputs["userName"], needed_by=what)
    if inputs.get("parentRoleName"):
        ctx.account.require("ROLE", inputs["parentRoleName"], needed_by=what)
    ctx.record(GRANT_ROLE, name, reveal(inputs))
    return name, inputs


def storage_integration(ctx: LocalContext, _name: str, inputs: Outputs) -> tuple[str, Outputs]:
    ctx.account.require_privilege(ctx.session, "CREATE INTEGRATION", f"storage integration {inputs['name']}")
    user = ctx.aws("iam").create_user(UserName=_integration_user(inputs["name"]))["User"]
    external_id = inputs.get("storageAwsExternalId") or f"LOCAL_SFCRole={secrets.token_hex(8)}"
    described = {
        "iamUserArn": user["Arn"],
        "externalId": external_id,
        "roleArn": inputs["storageAwsRoleArn"],
        "allowedLocations": inputs["storageAllowedLocations"],
        "enabled": inputs["enabled"],
    }
    ctx.account.add("INTEGRATION", inputs["name"])
    ctx.record(STORAGE_INTEGRATION, inputs["name"], described)
    return inputs["name"], {**inputs, "describeOutputs": [described]}


def notification_integration(ctx: LocalContext, _name: str, inputs: Outputs) -> tuple[str, Outputs]:
    """Like Snowflake (DESC NOTIFICATION INTEGRATION): its own IAM user and an external id it generates."""
    what = f"notification integration {inputs['name']}"
    ctx.account.require_privilege(ctx.session, "CREATE INTEGRATION", what)
    if inputs.get("notificationProvider") != "AWS_SNS":
        raise LocalDeployError(
            f"{what}: the local stack emulates AWS_SNS only, not {inputs.get('notificationProvider')}"
        )
    sns = ctx.aws("sns")
    try:
        sns.get_topic_attributes(TopicArn=inputs["awsSnsTopicArn"])
    except sns.exceptions.NotFoundException as err:
        raise LocalDeployError(f"{what}: SNS topic {inputs['awsSnsTopicArn']} does not exist") from err
    user = ctx.aws("iam").create_user(UserName=_integration_user(inputs["name"]))["User"]
    described = {
        "iamUserArn": user["Arn"],
        "externalId": f"LOCAL_SFCRole={secrets.token_hex(8)}",
        "roleArn": inputs["awsSnsRoleArn"],
        "topicArn": inputs["awsSnsTopicArn"],
        "enabled": inputs.get("enabled", True),
    }
    ctx.account.add("INTEGRATION", inputs["name"])
    ctx.record(NOTIFICATION_INTEGRATION, inputs["name"], described)
    return inputs["name"], {
        **inputs,
        "awsSnsIamUserArn": described["iamUserArn"],
        "awsSnsExternalId": described["externalId"],
        "fullyQualifiedName": _sql_name(inputs["name"]),
    }


def _error_topic_arn(ctx: LocalContext, integration: str, what: str) -> str:
    ctx.account.require("INTEGRATION", integration, needed_by=what)
    for entry in ctx.recorded:
        if entry["type"] == NOTIFICATION_INTEGRATION and entry["name"] == integration:
            return entry["inputs"]["topicArn"]
    raise LocalDeployError(f"{what}: integration {integration} is not a notification integration")


def _integration_user(name: str) -> str:
    return f"snowflake-{name.lower()}"[:64]


# ---------------------------------------------------------------- database objects


def database(ctx: LocalContext, _name: str, inputs: Outputs) -> tuple[str, Outputs]:
    ctx.account.require_privilege(ctx.session, "CREATE DATABASE", f"database {inputs['name']}")
    ctx.sql(f"CREATE DATABASE IF NOT EXISTS {_emulator_name(inputs['name'])}")
    ctx.account.add("DATABASE", inputs["name"])
    return inputs["name"], {**inputs, "fullyQualifiedName": _sql_name(inputs["name"])}


def schema(ctx: LocalContext, _name: str, inputs: Outputs) -> tuple[str, Outputs]:
    ctx.account.require("DATABASE", inputs["database"], needed_by=f"schema {inputs['name']}")
    ctx.sql(f"CREATE SCHEMA IF NOT EXISTS {_emulator_name(inputs['database'], inputs['name'])}")
    ctx.account.add("SCHEMA", inputs["database"], inputs["name"])
    return f"{inputs['database']}.{inputs['name']}", {
        **inputs,
        "fullyQualifiedName": _sql_name(inputs["database"], inputs["name"]),
    }


def file_format_json(ctx: LocalContext, _name: str, inputs: Outputs) -> tuple[str, Outputs]:
    path = _in_schema(ctx, inputs, f"file format {inputs['name']}")
    compression = inputs.get("compression") or "AUTO"
    ctx.sql(f"CREATE FILE FORMAT {_emulator_name(*path)} TYPE = JSON COMPRESSION = {compression}")
    ctx.account.add("FILE FORMAT", *path)
    return ".".join(path), _with_fqn(inputs)


def _integration(ctx: LocalContext, name: str) -> Outputs:
    for entry in ctx.recorded:
        if entry["type"] == STORAGE_INTEGRATION and entry["name"] == name:
            return entry["inputs"]
    raise LocalDeployError(f"storage integration {name} does not exist")


def _check_snowflake_can_read(ctx: LocalContext, integration: Outputs, url: str) -> None:
    """What Snowflake finds out when it first assumes the role for this stage."""
    if not any(url.startswith(location) for location in integration["allowedLocations"]):
        raise LocalDeployError(
            f"{url} is not among the integration's allowed locations {integration['allowedLocations']}"
        )
    role_name = integration["roleArn"].rsplit("/", 1)[-1]
    iam = ctx.aws("iam")
    try:
        role = iam.get_role(RoleName=role_name)["Role"]
    except iam.exceptions.NoSuchEntityException as err:
        raise LocalDeployError(f"Error assuming AWS_ROLE: {integration['roleArn']} does not exist") from err
    if role["Arn"] != integration["roleArn"]:
        raise LocalDeployError(f"the integration names role {integration['roleArn']} but IAM has {role['Arn']}")
    trust = role["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    trusted = [
        s
        for s in trust["Statement"]
        if s["Effect"] == "Allow"
        and s.get("Principal", {}).get("AWS") == integration["iamUserArn"]
        and s.get("Condition", {}).get("StringEquals", {}).get("sts:ExternalId") == integration["externalId"]
    ]
    if not trusted:
        raise LocalDeployError(
            f"Error assuming AWS_ROLE: {role['Arn']} does not trust {integration['iamUserArn']} "
            f"with external id {integration['externalId']}"
        )
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    probe = f"arn:aws:s3:::{bucket}/{prefix}probe.json"
    allowed = set()
    for policy_name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
        document = json.loads(document) if isinstance(document, str) else document
        for statement in document["Statement"]:
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            if statement["Effect"] == "Allow" and any(fnmatchcase(probe, r) for r in resources):
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                allowed.update(actions)
    if "s3:GetObject" not in allowed:
        raise LocalDeployError(f"{role['Arn']} may not s3:GetObject under {url}: Snowflake could not read the stage")


def stage_external_s3(ctx: LocalContext, _name: str, inputs: Outputs) -> tuple[str, Outputs]:
    what = f"stage {inputs['name']}"
    path = _in_schema(ctx, inputs, what)
    ctx.account.require("INTEGRATION", inputs["storageIntegration"], needed_by=what)
    format_name = (inputs.get("fileFormat") or {}).get("formatName")
    if format_name:
        ctx.account.require_qualified("FILE FORMAT", format_name, needed_by=what)
    _check_snowflake_can_read(ctx, _integration(ctx, inputs["storageIntegration"]), inputs["url"])
    ctx.sql(f"CREATE STAGE {_emulator_name(*path)} URL = '{inputs['url']}'")
    ctx.account.add("STAGE", *path)
    ctx.stages[".".join(path)] = inputs
    return ".".join(path), _with_fqn(inputs)


def table(ctx: LocalContext, _name: str, inputs: Outputs) -> tuple[str, Outputs]:
    path = _in_schema(ctx, inputs, f"table {inputs['name']}")
    columns = ", ".join(
        f"{c['name']} {c['type']}{'' if c.get('nullable', True) else ' NOT NULL'}" for c in inputs["columns"]
    )
    ctx.sql(f"CREATE TABLE {_emulator_name(*path)} ({columns})")
    ctx.account.add("TABLE", *path)
    # What the provider reads back right after CREATE (terraform-provider-snowflake table.go, Read).
    tracked = bool(inputs.get("changeTracking", False))
    if tracked:
        ctx.account.change_tracked.add(path)
    return ".".join(path), {**_with_fqn(inputs), "changeTracking": tracked}


def _run_statement(ctx: LocalContext, statement: str, what: str) -> list[tuple]:
    """One statement of an Execute: its tables must exist, and touching rows needs a warehouse."""
    parsed = sql_reading.parse(statement)  # once: the seed INSERTs are long
    if needs_warehouse(parsed):
        ctx.account.require_warehouse(ctx.session, what)
    for parts in tables_named(parsed):
        if len(parts) == 3 and not (ctx.account.exists("TABLE", *parts) or ctx.account.exists("VIEW", *parts)):
            raise SnowflakeRefusedError(
                f"{what}: SQL compilation error: Object '{'.'.join(parts)}' does not exist or not authorized."
            )
    return ctx.sql(statement)


def execute(ctx: LocalContext, name: str, inputs: Outputs) -> tuple[str, Outputs]:
    _run_statement(ctx, reveal(inputs["execute"]), f"execute {name}")
    results = _run_statement(ctx, inputs["query"], f"execute {name} (query)") if inputs.get("query") else []
    return name, {**inputs, "queryResults": [list(map(str, row)) for row in results]}


def view(ctx: LocalContext, _name: str, inputs: Outputs) -> tuple[str, Outputs]:
    if "COPY_HISTORY" in inputs["statement"].upper():
        return _copy_history_view(ctx, inputs)
    what = f"view {inputs['name']}"
    path = _in_schema(ctx, inputs, what)
    for source in tables_named(inputs["statement"]):
        if len(source) != 3:
            raise SnowflakeRefusedError(
                f"{what}: the view reads {'.'.join(source)}; qualify it as database.schema.name"
            )
        if not (ctx.account.exists("TABLE", *source) or ctx.account.exists("VIEW", *source)):
            raise SnowflakeRefusedError(
                f"{what}: SQL compilation error: Object '{'.'.join(source)}' does not exist or not authorized."
            )
    # After CREATE VIEW the provider reads the view's policy references with
    # a table function, which needs a warehouse (terraform-provider-snowflake #3067).
    ctx.account.require_warehouse(ctx.session, what)
    ctx.sql(f"CREATE OR REPLACE VIEW {_emulator_name(*path)} AS {inputs['statement']}")
    ctx.account.add("VIEW", *path)
    return ".".join(path), _with_fqn(inputs)


def _copy_history_view(ctx: LocalContext, inputs: Outputs) -> tuple[str, Outputs]:
    # fakesnow has no INFORMATION_SCHEMA.COPY_HISTORY and the local Snowpipe,
    # not Snowflake, keeps the load metadata: the view of the same name and
    # columns reads the local Snowpipe's load history instead
    # (local_stack/snowpipe/load_history.py says how each column maps).
    what = f"view {inputs['name']}"
    path = _in_schema(ctx, inputs, what)
    found = re.search(r"TABLE_NAME\s*=>\s*'([^']+)'", inputs["statement"], re.I)
    if found is None:
        raise SnowflakeRefusedError(f"{what}: COPY_HISTORY needs TABLE_NAME => '<table>'")
    # An unqualified TABLE_NAME resolves in the view's own database and schema.
    table = (path[0], path[1], found.group(1).upper())
    if not ctx.account.exists("TABLE", *table):
        raise SnowflakeRefusedError(
            f"{what}: SQL compilation error: Table '{'.'.join(table)}' does not exist or not authorized."
        )
    ctx.account.require_warehouse(ctx.session, what)
    for statement in load_history.history_ddl(path[0]):
        ctx.sql(statement)
    ctx.sql(
        load_history.local_pipe_load_history_sql(inputs["statement"], _emulator_name(*path), path[0], ".".join(table))
    )
    ctx.account.add("VIEW", *path)
    return ".".join(path), _with_fqn(inputs)


def pipe(ctx: LocalContext, _name: str, inputs: Outputs) -> tuple[str, Outputs]:
    if is_streaming_copy(inputs["copyStatement"]):
        return streaming_pipes.create_pipe(ctx, inputs)
    what = f"pipe {inputs['name']}"
    path = _in_schema(ctx, inputs, what)
    copy = inputs["copyStatement"]
    try:
        refs = copy_references(copy)
    except CopyPlanError as err:
        raise LocalDeployError(f"{what}: {err}") from err
    ctx.account.require_qualified("TABLE", refs.table, needed_by=what)
    stage_path = ctx.account.require_qualified("STAGE", refs.stage, needed_by=what)
    if refs.file_format:
        ctx.account.require_qualified("FILE FORMAT", refs.file_format, needed_by=what)
    stage = ctx.stages[".".join(stage_path)]
    error_topic_arn = (
        _error_topic_arn(ctx, inputs["errorIntegration"], what) if inputs.get("errorIntegration") else None
    )
    sqs = ctx.aws("sqs")
    queue_url = sqs.create_queue(QueueName=f"sf-snowpipe-{inputs['name'].lower()}-{secrets.token_hex(3)}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    ctx.account.add("PIPE", *path)
    ctx.pipes.append(
        Pipe(
            name=inputs["name"],
            database=inputs["database"],
            schema=inputs["schema"],
            copy_statement=copy,
            auto_ingest=bool(inputs.get("autoIngest")),
            queue_url=queue_url,
            queue_arn=queue_arn,
            stage_name=".".join(stage_path),
            stage_url=stage["url"],
            file_format_name=".".join(split_qualified(refs.file_format)) if refs.file_format else None,
            compression="AUTO",
            error_topic_arn=error_topic_arn,
        )
    )
    return ".".join(path), {**_with_fqn(inputs), "notificationChannel": queue_arn}


def _qualified(inputs: Outputs) -> str:
    """DB.SCHEMA.NAME, as the local task runner looks streams, procedures and tasks up (task_runner_spec.py)."""
    return ".".join(_path(inputs))


def _require_table(ctx: LocalContext, table: str, what: str) -> tuple[str, ...]:
    return ctx.account.require_qualified("TABLE", table, needed_by=what)


def _catalogued(
    ctx: LocalContext, kind: str, record_type: str, path: tuple[str, ...], inputs: Outputs
) -> tuple[str, Outputs]:
    """A schema object the task runner reads back: in the account's catalogue, and recorded under DB.SCHEMA.NAME."""
    ctx.account.add(kind, *path)
    ctx.record(record_type, _qualified(inputs), reveal(inputs))
    return ".".join(path), _with_fqn(inputs)


def stream_on_table(ctx: LocalContext, _name: str, inputs: Outputs) -> tuple[str, Outputs]:
    """fakesnow has no streams: catalogued and recorded; the local task runner emulates its offset."""
    what = f"stream {inputs['name']}"
    path = _in_schema(ctx, inputs, what)
    # CREATE STREAM turns change tracking on for its table (docs: CREATE STREAM, usage notes).
    ctx.account.change_tracked.add(_require_table(ctx, inputs["table"], what))
    return _catalogued(ctx, "STREAM", STREAM, path, inputs)


def procedure_python(ctx: LocalContext, _name: str, inputs: Outputs) -> tuple[str, Outputs]:
    """Catalogued and recorded; what CREATE PROCEDURE checks: the code compiles and defines the handler."""
    what = f"procedure {inputs['name']}"
    path = _in_schema(ctx, inputs, what)
    ctx.account.require_warehouse(ctx.session, what, PYTHON_PROCEDURE_NEEDS_WAREHOUSE)
    definition = inputs.get("procedureDefinition") or ""
    try:
        tree = ast.parse(definition)
    except SyntaxError as err:
        raise LocalDeployError(f"{what}: procedure_definition does not compile: {err}") from err
    bound = {
        alias.asname or alias.name
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    } | {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    if inputs["handler"] not in bound:
        raise LocalDeployError(f"{what}: handler {inputs['handler']!r} is not defined by its code")
    return _catalogued(ctx, "PROCEDURE", PROCEDURE, path, inputs)


def task(ctx: LocalContext, _name: str, inputs: Outputs) -> tuple[str, Outputs]:
    """Catalogued and recorded for the local task runner, after checking that what it references exists."""
    what = f"task {inputs['name']}"
    path = _in_schema(ctx, inputs, what)
    if str(inputs.get("started", "")).lower() == "true":
        # The owner (the deploying role) must hold EXECUTE TASK for the task to resume and run.
        ctx.account.require_privilege(ctx.session, "EXECUTE TASK", what)
    if inputs.get("warehouse"):
        ctx.account.require("WAREHOUSE", inputs["warehouse"], needed_by=what)
    else:
        # No warehouse: serverless compute, which only a role with EXECUTE MANAGED TASK may create.
        ctx.account.require_privilege(ctx.session, "EXECUTE MANAGED TASK", what)
    try:
        procedure, arguments = parse_call(inputs["sqlStatement"])
        stream = stream_of_condition(inputs.get("when"))
    except TaskSpecError as err:
        raise LocalDeployError(f"{what}: {err}") from err
    ctx.account.require_qualified("PROCEDURE", procedure, needed_by=what)
    stream_path = ctx.account.require_qualified("STREAM", stream, needed_by=what)
    for argument in arguments:
        if split_qualified(argument) != stream_path:
            _require_table(ctx, argument, what)
    return _catalogued(ctx, "TASK", TASK, path, inputs)


def read_warehouse(ctx: LocalContext, _name: str, warehouse_id: str) -> tuple[str, Outputs]:
    """Warehouse.get: SHOW WAREHOUSES lists only warehouses the role has a privilege on (docs: SHOW WAREHOUSES)."""
    if not ctx.account.exists("WAREHOUSE", warehouse_id) or not ctx.account.may_use_warehouse(
        ctx.session.role if ctx.session else None, warehouse_id
    ):
        raise SnowflakeRefusedError(
            f"reading warehouse {warehouse_id}: it does not exist or not authorized. existingWarehouse must name a "
            "warehouse the deploying role has USAGE on (GRANT USAGE, OPERATE ON WAREHOUSE ... TO ROLE ...)"
        )
    return warehouse_id, {"name": warehouse_id, "fullyQualifiedName": _sql_name(warehouse_id)}


READERS = {WAREHOUSE: read_warehouse}

HANDLERS: dict[str, Handler] = {
    WAREHOUSE: warehouse,
    ACCOUNT_ROLE: account_role,
    SERVICE_USER: service_user,
    GRANT_PRIVILEGES: grant_privileges,
    GRANT_ROLE: grant_account_role,
    STORAGE_INTEGRATION: storage_integration,
    NOTIFICATION_INTEGRATION: notification_integration,
    RESOURCE_MONITOR: resource_monitor,
    "snowflake:index/database:Database": database,
    "snowflake:index/schema:Schema": schema,
    "snowflake:index/fileFormatJson:FileFormatJson": file_format_json,
    "snowflake:index/stageExternalS3:StageExternalS3": stage_external_s3,
    "snowflake:index/table:Table": table,
    "snowflake:index/execute:Execute": execute,
    "snowflake:index/view:View": view,
    "snowflake:index/pipe:Pipe": pipe,
    "snowflake:index/streamOnTable:StreamOnTable": stream_on_table,
    "snowflake:index/procedurePython:ProcedurePython": procedure_python,
    TASK: task,
}


# ---------------------------------------------------------------- destroy


def _drop_account_object(kind: str, type_token: str):
    def drop(ctx: LocalContext, resource: StateResource) -> None:
        ctx.account.drop(kind, resource.inputs["name"])
        ctx.forget(type_token, resource.name)

    return drop


def _forget(type_token: str):
    def forget(ctx: LocalContext, resource: StateResource) -> None:
        ctx.forget(type_token, resource.name)

    return forget


def _drop_in_schema(kind: str):
    def drop(ctx: LocalContext, resource: StateResource) -> None:
        path = _path(resource.inputs)
        ctx.sql(f"DROP {kind} IF EXISTS {_emulator_name(*path)}")
        ctx.account.drop(kind, *path)

    return drop


def drop_storage_integration(ctx: LocalContext, resource: StateResource) -> None:
    iam = ctx.aws("iam")
    iam.delete_user(UserName=_integration_user(resource.inputs["name"]))
    ctx.account.drop("INTEGRATION", resource.inputs["name"])
    ctx.forget(STORAGE_INTEGRATION, resource.inputs["name"])


def drop_notification_integration(ctx: LocalContext, resource: StateResource) -> None:
    ctx.aws("iam").delete_user(UserName=_integration_user(resource.inputs["name"]))
    ctx.account.drop("INTEGRATION", resource.inputs["name"])
    ctx.forget(NOTIFICATION_INTEGRATION, resource.inputs["name"])


def drop_database(ctx: LocalContext, resource: StateResource) -> None:
    # fakesnow 0.12.1 cannot drop a database (DuckDB has no DROP DATABASE for
    # an attached catalog): drop what it holds, schema by schema (cascading).
    name = resource.inputs["name"]
    for _database, schema_name in {n for n in ctx.account.names("SCHEMA") if n[0] == name}:
        ctx.sql(f"DROP SCHEMA IF EXISTS {_emulator_name(name, schema_name)}")
    ctx.account.drop("DATABASE", name)


def drop_schema(ctx: LocalContext, resource: StateResource) -> None:
    ctx.sql(f"DROP SCHEMA IF EXISTS {_emulator_name(resource.inputs['database'], resource.inputs['name'])}")
    ctx.account.drop("SCHEMA", resource.inputs["database"], resource.inputs["name"])


def _drop_catalogued(kind: str, table: str):
    """fakesnow 0.12.1 parses no DROP STAGE / DROP FILE FORMAT (its transforms/stage.py and
    file_format.py turn only CREATE into a row of its own catalogue): delete that row."""

    def drop(ctx: LocalContext, resource: StateResource) -> None:
        database_name, schema_name, name = _path(resource.inputs)
        ctx.sql(
            f"DELETE FROM _fs_global._fs_information_schema.{table} WHERE upper(database_name) = "
            f"'{database_name.upper()}' AND upper(schema_name) = '{schema_name.upper()}' "
            f"AND upper(name) = '{name.upper()}'"
        )
        ctx.account.drop(kind, database_name, schema_name, name)
        ctx.stages.pop(".".join(_path(resource.inputs)), None)

    return drop


def revert_execute(ctx: LocalContext, resource: StateResource) -> None:
    if resource.inputs.get("revert"):
        _run_statement(ctx, reveal(resource.inputs["revert"]), f"execute {resource.name} (revert)")


def drop_pipe(ctx: LocalContext, resource: StateResource) -> None:
    if is_streaming_copy(resource.inputs["copyStatement"]):
        return streaming_pipes.drop_pipe(ctx, resource.inputs)
    database_name, schema_name, name = _path(resource.inputs)
    # The pipe's queue goes with it (the notification pointing at it was deleted first).
    ctx.aws("sqs").delete_queue(QueueUrl=_queue_url(ctx, resource.outputs["notificationChannel"]))
    ctx.pipes = [p for p in ctx.pipes if (p.database, p.schema, p.name) != (database_name, schema_name, name)]
    ctx.account.drop("PIPE", database_name, schema_name, name)


def _queue_url(ctx: LocalContext, queue_arn: str) -> str:
    queue_name = queue_arn.rsplit(":", 1)[-1]
    return ctx.aws("sqs").get_queue_url(QueueName=queue_name)["QueueUrl"]


def _drop_recorded(kind: str, type_token: str):
    """Objects fakesnow cannot hold: out of the catalogue and the records the task runner reads."""

    def drop(ctx: LocalContext, resource: StateResource) -> None:
        path = _path(resource.inputs)
        ctx.account.drop(kind, *path)
        ctx.forget(type_token, ".".join(path))

    return drop


DELETERS: dict[str, Deleter] = {
    "snowflake:index/streamOnTable:StreamOnTable": _drop_recorded("STREAM", STREAM),
    "snowflake:index/procedurePython:ProcedurePython": _drop_recorded("PROCEDURE", PROCEDURE),
    TASK: _drop_recorded("TASK", TASK),
    WAREHOUSE: _drop_account_object("WAREHOUSE", WAREHOUSE),
    ACCOUNT_ROLE: _drop_account_object("ROLE", ACCOUNT_ROLE),
    SERVICE_USER: _drop_account_object("USER", SERVICE_USER),
    GRANT_PRIVILEGES: _forget(GRANT_PRIVILEGES),
    GRANT_ROLE: _forget(GRANT_ROLE),
    STORAGE_INTEGRATION: drop_storage_integration,
    NOTIFICATION_INTEGRATION: drop_notification_integration,
    RESOURCE_MONITOR: _drop_account_object("RESOURCE MONITOR", RESOURCE_MONITOR),
    "snowflake:index/database:Database": drop_database,
    "snowflake:index/schema:Schema": drop_schema,
    "snowflake:index/fileFormatJson:FileFormatJson": _drop_catalogued("FILE FORMAT", "_fs_file_formats"),
    "snowflake:index/stageExternalS3:StageExternalS3": _drop_catalogued("STAGE", "_fs_stages"),
    "snowflake:index/table:Table": _drop_in_schema("TABLE"),
    "snowflake:index/execute:Execute": revert_execute,
    "snowflake:index/view:View": _drop_in_schema("VIEW"),
    "snowflake:index/pipe:Pipe": drop_pipe,
}
