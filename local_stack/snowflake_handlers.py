"""Snowflake resource types of the program, created in the fakesnow server. One function per type.

What fakesnow cannot hold (warehouses, roles, grants, users) is recorded in
.local/snowflake_objects.json. The storage integration answers with an IAM
user created in moto; creating the stage checks, as Snowflake does when it
first assumes the role, that the role trusts that user with the external id
and may read the stage's prefix. The pipe becomes an SQS queue in moto whose
ARN is its notification_channel, registered for the local Snowpipe worker.
"""

from __future__ import annotations

import json
import re
import secrets
from fnmatch import fnmatchcase

from local_stack.dynamic_resources import reveal
from local_stack.local_cloud import LocalContext, LocalDeployError, Outputs
from local_stack.snowpipe import load_history


def _fqn(inputs: Outputs) -> str:
    return f"{inputs['database']}.{inputs['schema']}.{inputs['name']}"


def _quoted_fqn(inputs: Outputs) -> str:
    return f'"{inputs["database"]}"."{inputs["schema"]}"."{inputs["name"]}"'


def _with_fqn(inputs: Outputs) -> Outputs:
    return {**inputs, "fullyQualifiedName": _quoted_fqn(inputs)}


def recorded_only(ctx: LocalContext, name: str, inputs: Outputs, type_token: str) -> tuple[str, Outputs]:
    ctx.record(type_token, name, reveal(inputs))
    return inputs.get("name") or name, {**inputs, "fullyQualifiedName": f'"{inputs.get("name", name)}"'}


def _recorder(type_token: str):
    return lambda ctx, name, inputs: recorded_only(ctx, name, inputs, type_token)


def database(ctx: LocalContext, _name: str, inputs: Outputs) -> tuple[str, Outputs]:
    ctx.sql(f"CREATE DATABASE IF NOT EXISTS {inputs['name']}")
    return inputs["name"], {**inputs, "fullyQualifiedName": f'"{inputs["name"]}"'}


def schema(ctx: LocalContext, _name: str, inputs: Outputs) -> tuple[str, Outputs]:
    ctx.sql(f"CREATE SCHEMA IF NOT EXISTS {inputs['database']}.{inputs['name']}")
    return f"{inputs['database']}.{inputs['name']}", {
        **inputs,
        "fullyQualifiedName": f'"{inputs["database"]}"."{inputs["name"]}"',
    }


def storage_integration(ctx: LocalContext, _name: str, inputs: Outputs) -> tuple[str, Outputs]:
    user = ctx.aws("iam").create_user(UserName=f"snowflake-{inputs['name'].lower()}"[:64])["User"]
    external_id = inputs.get("storageAwsExternalId") or f"LOCAL_SFCRole={secrets.token_hex(8)}"
    described = {
        "iamUserArn": user["Arn"],
        "externalId": external_id,
        "roleArn": inputs["storageAwsRoleArn"],
        "allowedLocations": inputs["storageAllowedLocations"],
        "enabled": inputs["enabled"],
    }
    ctx.record("snowflake:index/storageIntegrationAws:StorageIntegrationAws", inputs["name"], described)
    return inputs["name"], {**inputs, "describeOutputs": [described]}


def file_format_json(ctx: LocalContext, _name: str, inputs: Outputs) -> tuple[str, Outputs]:
    compression = inputs.get("compression") or "AUTO"
    ctx.sql(f"CREATE FILE FORMAT {_fqn(inputs)} TYPE = JSON COMPRESSION = {compression}")
    return _fqn(inputs), _with_fqn(inputs)


def _integration(ctx: LocalContext, name: str) -> Outputs:
    for entry in ctx.recorded:
        if entry["type"].endswith("StorageIntegrationAws") and entry["name"] == name:
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
    integration = _integration(ctx, inputs["storageIntegration"])
    _check_snowflake_can_read(ctx, integration, inputs["url"])
    ctx.sql(f"CREATE STAGE {_fqn(inputs)} URL = '{inputs['url']}'")
    ctx.stages[_fqn(inputs).upper()] = inputs
    return _fqn(inputs), _with_fqn(inputs)


def table(ctx: LocalContext, _name: str, inputs: Outputs) -> tuple[str, Outputs]:
    columns = ", ".join(
        f"{c['name']} {c['type']}{'' if c.get('nullable', True) else ' NOT NULL'}" for c in inputs["columns"]
    )
    ctx.sql(f"CREATE TABLE {_fqn(inputs)} ({columns})")
    return _fqn(inputs), _with_fqn(inputs)


def execute(ctx: LocalContext, name: str, inputs: Outputs) -> tuple[str, Outputs]:
    ctx.sql(reveal(inputs["execute"]))
    results = ctx.sql(inputs["query"]) if inputs.get("query") else []
    return name, {**inputs, "queryResults": [list(map(str, row)) for row in results]}


def view(ctx: LocalContext, _name: str, inputs: Outputs) -> tuple[str, Outputs]:
    if "COPY_HISTORY" in inputs["statement"].upper():
        return _copy_history_view(ctx, inputs)
    ctx.sql(f"CREATE OR REPLACE VIEW {_fqn(inputs)} AS {inputs['statement']}")
    return _fqn(inputs), _with_fqn(inputs)


def _copy_history_view(ctx: LocalContext, inputs: Outputs) -> tuple[str, Outputs]:
    # fakesnow has no INFORMATION_SCHEMA.COPY_HISTORY and the local Snowpipe,
    # not Snowflake, keeps the load metadata: the view of the same name and
    # columns reads the local Snowpipe's load history instead
    # (local_stack/snowpipe/load_history.py says how each column maps).
    found = re.search(r"TABLE_NAME\s*=>\s*'([^']+)'", inputs["statement"], re.I)
    if found is None:
        raise LocalDeployError(f"view {_fqn(inputs)} reads COPY_HISTORY without TABLE_NAME => '<table>'")
    # Like Snowflake, an unqualified name resolves in the view's own database and schema.
    table = f"{inputs['database']}.{inputs['schema']}.{found.group(1)}".upper()
    try:
        ctx.sql(f"DESCRIBE TABLE {table}")
    except Exception as err:
        raise LocalDeployError(
            f"view {_fqn(inputs)} reads COPY_HISTORY of {table}, which does not exist: create the table first"
        ) from err
    for statement in load_history.history_ddl(inputs["database"]):
        ctx.sql(statement)
    ctx.sql(load_history.local_pipe_load_history_sql(inputs["statement"], _fqn(inputs), inputs["database"], table))
    return _fqn(inputs), _with_fqn(inputs)


def pipe(ctx: LocalContext, _name: str, inputs: Outputs) -> tuple[str, Outputs]:
    copy = inputs["copyStatement"]
    stage_ref = re.search(r"@([\w$.\"]+)", copy)
    stage = ctx.stages.get(stage_ref.group(1).replace('"', "").upper()) if stage_ref else None
    if stage is None:
        raise LocalDeployError(
            f"pipe {_fqn(inputs)} copies from {stage_ref and stage_ref.group(0)}, which is not a stage"
        )
    format_ref = re.search(r"FORMAT_NAME\s*=\s*'([^']+)'", copy)
    sqs = ctx.aws("sqs")
    queue_url = sqs.create_queue(QueueName=f"sf-snowpipe-{inputs['name'].lower()}-{secrets.token_hex(3)}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    ctx.pipes.append(
        {
            "name": inputs["name"],
            "database": inputs["database"],
            "schema": inputs["schema"],
            "copy_statement": copy,
            "auto_ingest": bool(inputs.get("autoIngest")),
            "queue_url": queue_url,
            "queue_arn": queue_arn,
            "stage": {"name": _fqn(stage), "url": stage["url"]},
            "file_format": {
                "name": format_ref.group(1) if format_ref else None,
                "type": "JSON",
                "compression": "AUTO",
            },
        }
    )
    return _fqn(inputs), {**_with_fqn(inputs), "notificationChannel": queue_arn}


HANDLERS = {
    "snowflake:index/database:Database": database,
    "snowflake:index/schema:Schema": schema,
    "snowflake:index/storageIntegrationAws:StorageIntegrationAws": storage_integration,
    "snowflake:index/fileFormatJson:FileFormatJson": file_format_json,
    "snowflake:index/stageExternalS3:StageExternalS3": stage_external_s3,
    "snowflake:index/table:Table": table,
    "snowflake:index/execute:Execute": execute,
    "snowflake:index/view:View": view,
    "snowflake:index/pipe:Pipe": pipe,
    **{
        token: _recorder(token)
        for token in (
            "snowflake:index/warehouse:Warehouse",
            "snowflake:index/accountRole:AccountRole",
            "snowflake:index/grantPrivilegesToAccountRole:GrantPrivilegesToAccountRole",
            "snowflake:index/grantAccountRole:GrantAccountRole",
            "snowflake:index/serviceUser:ServiceUser",
        )
    },
}
