"""The stack's security and cost rules, as pure functions over plain resource records.

A resource is what Pulumi's policy SDK hands a policy: a type token, a name
and its properties under the provider's wire names (camelCase, e.g.
`assumeRolePolicy`, `autoSuspend`, `copyStatement`). The same functions run
  - in the CrossGuard pack (policy/__main__.py) on `pulumi preview` and `up`;
  - in the mock-runtime tests, over every resource the program registers;
  - in the local deploy, before it creates anything.

Properties are read through `Mapping`/`Sequence` only, so the policy SDK's
proxies can be passed as they are: a value still unknown during a preview
raises its UnknownValueError, which the SDK reports as "can't run during
preview" instead of a false violation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlglot import exp

MANDATORY = "mandatory"
ADVISORY = "advisory"

BUCKET_TYPES = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
BUCKET_SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
BUCKET_SSE_V2 = "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"
BUCKET_VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
BUCKET_VERSIONING_V2 = "aws:s3/bucketVersioningV2:BucketVersioningV2"
BUCKET_NOTIFICATION = "aws:s3/bucketNotification:BucketNotification"
IAM_ROLE = "aws:iam/role:Role"
IAM_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
# Documents that grant permissions: identity policies and resource policies.
POLICY_DOCUMENTS = {
    IAM_ROLE_POLICY: "policy",
    "aws:iam/policy:Policy": "policy",
    "aws:iam/userPolicy:UserPolicy": "policy",
    "aws:iam/groupPolicy:GroupPolicy": "policy",
    BUCKET_POLICY: "policy",
    "aws:sns/topicPolicy:TopicPolicy": "policy",
    "aws:sqs/queuePolicy:QueuePolicy": "policy",
}
IDENTITY_POLICIES = (IAM_ROLE_POLICY, "aws:iam/policy:Policy", "aws:iam/userPolicy:UserPolicy")
STORAGE_INTEGRATION = "snowflake:index/storageIntegrationAws:StorageIntegrationAws"
STAGE = "snowflake:index/stageExternalS3:StageExternalS3"
WAREHOUSE = "snowflake:index/warehouse:Warehouse"
RESOURCE_MONITOR = "snowflake:index/resourceMonitor:ResourceMonitor"
PIPE = "snowflake:index/pipe:Pipe"
TABLE = "snowflake:index/table:Table"
# ServiceUser (TYPE = SERVICE) has no password input in pulumi-snowflake 2.22;
# LegacyServiceUser and User do.
SERVICE_USERS = ("snowflake:index/serviceUser:ServiceUser", "snowflake:index/legacyServiceUser:LegacyServiceUser")
PASSWORD_USERS = ("snowflake:index/legacyServiceUser:LegacyServiceUser", "snowflake:index/user:User")
STACK = "pulumi:pulumi:Stack"
GRANT_PRIVILEGES = "snowflake:index/grantPrivilegesToAccountRole:GrantPrivilegesToAccountRole"
GRANT_ROLE = "snowflake:index/grantAccountRole:GrantAccountRole"
KEY_PAIR_USER = "snowflake:index/serviceUser:ServiceUser"
# What calling the Snowpipe Streaming API needs, and all a producer's role may
# hold (docs.snowflake.com, user-guide/snowpipe-streaming/snowpipe-streaming-access-control).
STREAMING_PRIVILEGES = {("USAGE", "DATABASE"), ("USAGE", "SCHEMA"), ("INSERT", "TABLE"), ("OPERATE", "PIPE")}
# Types pulumi-snowflake 2.22.0 documents with "**Required warehouse** This
# resource may require active warehouse" (their docstrings): Snowflake refuses
# them without a warehouse in the provider's session, e.g. CREATE PROCEDURE ...
# LANGUAGE PYTHON with 391531, and a view's read-back with 000606
# (terraform-provider-snowflake #3067). tests/test_policy.py keeps this list
# equal to the installed provider's.
NEED_SESSION_WAREHOUSE = tuple(
    f"snowflake:index/{kind[0].lower()}{kind[1:]}:{kind}"
    for kind in (
        *(f"Function{lang}" for lang in ("Java", "Javascript", "Python", "Scala", "Sql")),
        *(f"Procedure{lang}" for lang in ("Java", "Javascript", "Python", "Scala", "Sql")),
        "TableStorageLifecyclePolicyAttachment",
        "Tag",
        *(f"User{policy}PolicyAttachment" for policy in ("Authentication", "Password", "Session")),
        "View",
    )
)

# Snowflake's warehouse sizes, smallest first (CREATE WAREHOUSE, WAREHOUSE_SIZE).
WAREHOUSE_SIZES = (
    "XSMALL",
    "SMALL",
    "MEDIUM",
    "LARGE",
    "XLARGE",
    "XXLARGE",
    "XXXLARGE",
    "X4LARGE",
    "X5LARGE",
    "X6LARGE",
)
MAX_AUTO_SUSPEND_SECONDS = 300
DEFAULT_MAX_WAREHOUSE_SIZE = "XSMALL"
READ_VERBS = ("Get", "List", "Describe", "Head")
# Pulumi's wire form of a secret value (pulumi.runtime.rpc).
_SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


@dataclass(frozen=True)
class Resource:
    type: str
    name: str
    props: Mapping[str, Any]
    """Wire-named properties: inputs, plus outputs where the caller has them."""
    id: str = ""
    urn: str = ""
    protect: bool = False
    provider_props: Mapping[str, Any] | None = None
    """Properties of the provider that manages it (None when the caller cannot tell)."""


@dataclass(frozen=True)
class Violation:
    policy: str
    resource: str
    """'<type> <name>' of the offending resource, or 'stack'."""
    message: str
    enforcement: str
    urn: str = ""

    def __str__(self) -> str:
        return f"[{self.enforcement}] {self.policy}: {self.resource}: {self.message}"


@dataclass(frozen=True)
class Context:
    stack: str
    max_warehouse_size: str = DEFAULT_MAX_WAREHOUSE_SIZE
    secret_values: tuple[str, ...] = ()


ResourceCheck = Callable[[Resource, Context], Iterable[str]]
StackCheck = Callable[[Sequence[Resource], Context], Iterable[tuple[Resource | None, str]]]


@dataclass(frozen=True)
class Policy:
    name: str
    description: str
    """What it protects against (shown by `pulumi preview` and docs/policy.md)."""
    enforcement: Callable[[str], str]
    """Enforcement level for a stack name."""
    types: tuple[str, ...] = ()
    """Resource policy: the types it checks (empty: a stack policy)."""
    check_resource: ResourceCheck | None = None
    check_stack: StackCheck | None = None


def mandatory(_stack: str) -> str:
    return MANDATORY


def advisory(_stack: str) -> str:
    return ADVISORY


def mandatory_in_prod(stack: str) -> str:
    return MANDATORY if stack.startswith("prod") else ADVISORY


# --- helpers -----------------------------------------------------------------


def _is_secret(value: Any) -> bool:
    return isinstance(value, Mapping) and value.get(_SECRET_SIG_KEY) == _SECRET_SIG


def _plain(value: Any) -> Any:
    return value.get("value") if _is_secret(value) else value


def _items(value: Any) -> list[Any]:
    """A policy field that may be one value or a list of them."""
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Sequence):
        return [value]
    return list(value)


def _document(resource: Resource, key: str) -> Mapping[str, Any] | None:
    text = _plain(resource.props.get(key))
    if not text:
        return None
    return json.loads(text) if isinstance(text, str) else text


def _statements(document: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    return _items(document.get("Statement")) if document else []


def _label(resource: Resource) -> str:
    return f"{resource.type} {resource.name}"


def _bucket_keys(bucket: Resource) -> set[str]:
    """How other resources refer to a bucket: its id or its name (the same in AWS)."""
    return {k for k in (bucket.id, bucket.props.get("bucket"), bucket.props.get("id")) if k}


def _of(resources: Sequence[Resource], *types: str) -> list[Resource]:
    return [r for r in resources if r.type in types]


def _for_bucket(resources: Sequence[Resource], bucket: Resource, *types: str) -> list[Resource]:
    keys = _bucket_keys(bucket)
    return [r for r in _of(resources, *types) if r.props.get("bucket") in keys]


def _bucket_arn(bucket: Resource) -> str | None:
    arn = bucket.props.get("arn")
    if arn:
        return arn
    name = bucket.props.get("bucket")
    return f"arn:aws:s3:::{name}" if name else None


def _is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


# --- bucket ------------------------------------------------------------------


def bucket_public_access_blocked(resources, _ctx):
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    for bucket in _of(resources, *BUCKET_TYPES):
        blocks = _for_bucket(resources, bucket, PUBLIC_ACCESS_BLOCK)
        if not blocks:
            yield bucket, "has no BucketPublicAccessBlock: a public ACL or policy would expose raw events"
        for block in blocks:
            off = [f for f in flags if not _is_true(block.props.get(f))]
            if off:
                yield block, f"public access block leaves {', '.join(off)} off: all four must be true"


def bucket_tls_only(resources, _ctx):
    for bucket in _of(resources, *BUCKET_TYPES):
        denies_plain_http = any(
            s.get("Effect") == "Deny"
            and str((s.get("Condition") or {}).get("Bool", {}).get("aws:SecureTransport")).lower() == "false"
            for policy in _for_bucket(resources, bucket, BUCKET_POLICY)
            for s in _statements(_document(policy, "policy"))
        )
        if not denies_plain_http:
            yield (
                bucket,
                "no bucket policy denies requests with aws:SecureTransport = false: data could travel unencrypted",
            )


def bucket_encrypted(resources, _ctx):
    for bucket in _of(resources, *BUCKET_TYPES):
        algorithms = [
            (rule.get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm")
            for sse in _for_bucket(resources, bucket, BUCKET_SSE, BUCKET_SSE_V2)
            for rule in _items(sse.props.get("rules"))
        ]
        if not any(a in ("AES256", "aws:kms", "aws:kms:dsse") for a in algorithms):
            yield bucket, "has no server-side encryption configuration (AES256 or aws:kms)"


def bucket_versioned(resources, _ctx):
    for bucket in _of(resources, *BUCKET_TYPES):
        statuses = [
            (v.props.get("versioningConfiguration") or {}).get("status")
            for v in _for_bucket(resources, bucket, BUCKET_VERSIONING, BUCKET_VERSIONING_V2)
        ]
        if "Enabled" not in statuses:
            yield bucket, "versioning is not Enabled: an overwritten or deleted raw event file would be lost"


# --- IAM -----------------------------------------------------------------------


def trust_requires_external_id(role: Resource, _ctx):
    for statement in _statements(_document(role, "assumeRolePolicy")):
        principal = statement.get("Principal") or {}
        aws_principals = _items(principal.get("AWS")) if isinstance(principal, Mapping) else [principal]
        if statement.get("Effect") != "Allow" or not aws_principals:
            continue
        condition = statement.get("Condition") or {}
        external_ids = [op.get("sts:ExternalId") for op in condition.values() if isinstance(op, Mapping)]
        if not any(external_ids):
            yield (
                f"trusts {', '.join(map(str, aws_principals))} without an sts:ExternalId condition: "
                "any Snowflake account could make its integration assume this role (confused deputy)"
            )


def no_wildcard_action(resource: Resource, _ctx):
    for statement in _statements(_document(resource, POLICY_DOCUMENTS[resource.type])):
        if statement.get("Effect") != "Allow":
            continue
        if statement.get("NotAction") is not None:
            yield f"statement {statement.get('Sid', '')!r} allows NotAction: everything but a list is a wildcard"
        for action in _items(statement.get("Action")):
            if "*" in action:
                yield f"statement {statement.get('Sid', '')!r} allows the wildcard action {action!r}: name each action"


def s3_resources_in_stack_bucket(resources, _ctx):
    bucket_arns = [a for a in map(_bucket_arn, _of(resources, *BUCKET_TYPES)) if a]
    for policy in _of(resources, *IDENTITY_POLICIES):
        for statement in _statements(_document(policy, "policy")):
            if statement.get("Effect") != "Allow":
                continue
            s3_actions = [a for a in _items(statement.get("Action")) if a.lower().startswith("s3:")]
            for target in _items(statement.get("Resource")):
                in_stack = any(target == arn or target.startswith(f"{arn}/") for arn in bucket_arns)
                is_s3 = target.startswith("arn:") and target.split(":")[2] == "s3"
                if (is_s3 or (target == "*" and s3_actions)) and not in_stack:
                    yield policy, f"grants S3 access to {target}, outside this stack's bucket(s) {bucket_arns}"


def _snowflake_read_role_names(resources) -> set[str]:
    return {
        str(i.props.get("storageAwsRoleArn", "")).rsplit("/", 1)[-1] for i in _of(resources, STORAGE_INTEGRATION)
    } - {""}


def snowflake_read_role_no_write(resources, _ctx):
    read_roles = _snowflake_read_role_names(resources)
    for policy in _of(resources, IAM_ROLE_POLICY):
        if policy.props.get("role") not in read_roles:
            continue
        for statement in _statements(_document(policy, "policy")):
            if statement.get("Effect") != "Allow":
                continue
            for action in _items(statement.get("Action")):
                verb = action.split(":", 1)[-1]
                if not verb.startswith(READ_VERBS):
                    yield (
                        policy,
                        (
                            f"gives Snowflake's read role {policy.props.get('role')} the action {action!r}: "
                            "Snowpipe only reads (Get/List/Describe/Head)"
                        ),
                    )


# --- notification ------------------------------------------------------------------


def notification_object_created_under_prefix(resources, _ctx):
    stage_urls = [str(s.props.get("url", "")) for s in _of(resources, STAGE)]
    for notification in _of(resources, BUCKET_NOTIFICATION):
        bucket = notification.props.get("bucket")
        stage_prefixes = {
            url.removeprefix("s3://").partition("/")[2] for url in stage_urls if url.startswith(f"s3://{bucket}/")
        }
        for kind in ("queues", "topics", "lambdaFunctions"):
            for target in _items(notification.props.get(kind)):
                events = list(_items(target.get("events")))
                if events != ["s3:ObjectCreated:*"]:
                    yield notification, f"{kind} target sends {events}: only s3:ObjectCreated:* feeds a pipe"
                prefix = target.get("filterPrefix") or ""
                if not prefix:
                    yield notification, f"{kind} target has no filterPrefix: every object in the bucket would notify"
                elif stage_prefixes and prefix not in stage_prefixes:
                    yield notification, f"{kind} target filters {prefix!r}, not a stage prefix {sorted(stage_prefixes)}"


# --- Snowflake -------------------------------------------------------------------


def warehouse_auto_suspends(warehouse: Resource, _ctx):
    suspend = warehouse.props.get("autoSuspend")
    if not isinstance(suspend, int | float) or not 0 < suspend <= MAX_AUTO_SUSPEND_SECONDS:
        yield (
            f"autoSuspend is {suspend!r}: set 1-{MAX_AUTO_SUSPEND_SECONDS} s, or an idle warehouse keeps "
            "burning credits"
        )
    if not _is_true(warehouse.props.get("autoResume")):
        resume = warehouse.props.get("autoResume")
        yield f"autoResume is {resume!r}: must be 'true' so a suspended warehouse serves queries"


def _size_rank(size: Any) -> int | None:
    normalized = str(size or "").upper().replace("-", "").replace("_", "")
    return WAREHOUSE_SIZES.index(normalized) if normalized in WAREHOUSE_SIZES else None


def warehouse_size_limit(warehouse: Resource, ctx: Context):
    size = warehouse.props.get("warehouseSize") or "XSMALL"  # Snowflake's default size
    rank, limit = _size_rank(size), _size_rank(ctx.max_warehouse_size)
    if rank is None or limit is None or rank > limit:
        yield f"size {size} is above the allowed maximum {ctx.max_warehouse_size}: each size up doubles credits/hour"


def warehouse_has_resource_monitor(resources, _ctx):
    monitors = {str(m.props.get("name")): m for m in _of(resources, RESOURCE_MONITOR)}
    for warehouse in _of(resources, WAREHOUSE):
        name = warehouse.props.get("resourceMonitor")
        monitor = monitors.get(str(name)) if name else None
        if monitor is None:
            yield (
                warehouse,
                (f"resourceMonitor is {name!r}, not a resource monitor of this stack: nothing caps its credits"),
            )
        elif not monitor.props.get("creditQuota") or not (
            monitor.props.get("suspendTrigger") or monitor.props.get("suspendImmediateTrigger")
        ):
            yield monitor, "needs a creditQuota and a suspend trigger, or it only watches the spending"


def service_user_no_password(user: Resource, _ctx):
    if _plain(user.props.get("password")):
        yield "has a password: service users log in with a key pair only (a password can be phished or leaked)"


def service_user_rsa_key(user: Resource, _ctx):
    if not _plain(user.props.get("rsaPublicKey")):
        yield "has no rsaPublicKey: it cannot log in (set dashboardUserPublicKey)"


def _on_error(copy_statement: str) -> str | None:
    copy = sqlglot.parse_one(copy_statement, read="snowflake")
    for parameter in copy.find_all(exp.CopyParameter):
        if parameter.this.name.upper() == "ON_ERROR":
            return parameter.expression.name.upper() if parameter.expression else None
    return None


def _is_streaming(pipe: Resource) -> bool:
    """A Snowpipe Streaming pipe reads TABLE(DATA_SOURCE(TYPE => 'STREAMING')): channels feed it, not files."""
    statement = _plain(pipe.props.get("copyStatement")) or ""
    return bool(re.search(r"DATA_SOURCE\s*\(\s*TYPE\s*=>\s*'STREAMING'", statement, re.I))


def pipe_skips_bad_files(pipe: Resource, _ctx):
    # A streaming pipe has no files to skip: it runs ON_ERROR = CONTINUE
    # implicitly and reports bad rows in channel status (docs,
    # snowpipe-streaming/snowpipe-streaming-error-tables).
    if _is_streaming(pipe):
        return
    statement = pipe.props.get("copyStatement") or ""
    try:
        on_error = _on_error(statement)
    except sqlglot.errors.ParseError as err:
        yield f"copyStatement does not parse as Snowflake SQL: {err}"
        return
    if on_error != "SKIP_FILE":
        yield (
            f"COPY has ON_ERROR = {on_error}: use SKIP_FILE (a bad file must neither stop the pipe nor load "
            "partly, and error notifications need it)"
        )


def pipe_reports_errors(pipe: Resource, _ctx):
    # Error integrations report skipped files; a streaming pipe's errors are in its channels' status.
    if not _is_streaming(pipe) and not pipe.props.get("errorIntegration"):
        yield "has no errorIntegration: skipped files would go unnoticed"


def _grant_target(grant: Resource) -> tuple[str, str]:
    """(object kind, object name) a GrantPrivilegesToAccountRole names; ("?", ...) for bulk forms (all/future)."""
    props = grant.props
    if target := _plain(props.get("onAccountObject")):
        return str(target.get("objectType", "?")).upper(), str(target.get("objectName", "")).upper()
    if target := _plain(props.get("onSchema")):
        return ("SCHEMA", str(target["schemaName"]).upper()) if target.get("schemaName") else ("?", "all schemas")
    if target := _plain(props.get("onSchemaObject")):
        if target.get("objectType") and target.get("objectName"):
            return str(target["objectType"]).upper(), str(target["objectName"]).upper()
        return "?", "all or future objects"
    return "?", "the account"


def _streaming_roles(resources) -> set[str]:
    """Roles granted OPERATE on a streaming pipe of this stack (by its qualified name)."""
    pipes = {
        ".".join(str(_plain(p.props.get(k))) for k in ("database", "schema", "name")).upper()
        for p in _of(resources, PIPE)
        if _is_streaming(p)
    }
    roles = set()
    for grant in _of(resources, GRANT_PRIVILEGES):
        kind, name = _grant_target(grant)
        if (
            kind == "PIPE"
            and name in pipes
            and "OPERATE" in [str(x).upper() for x in _items(grant.props.get("privileges"))]
        ):
            roles.add(str(_plain(grant.props.get("accountRoleName"))).upper())
    return roles


def streaming_role_least_privilege(resources, _ctx):
    roles = _streaming_roles(resources)
    for grant in _of(resources, GRANT_PRIVILEGES):
        role = str(_plain(grant.props.get("accountRoleName"))).upper()
        if role not in roles:
            continue
        kind, name = _grant_target(grant)
        if _is_true(grant.props.get("allPrivileges")):
            yield grant, f"grants ALL PRIVILEGES on {kind} {name} to streaming role {role}"
        for privilege in _items(grant.props.get("privileges")):
            if (str(privilege).upper(), kind) not in STREAMING_PRIVILEGES:
                yield (
                    grant,
                    f"grants {privilege} on {kind} {name} to streaming role {role}: the streaming API needs only "
                    "USAGE on the database and schema, INSERT on the table, OPERATE on the pipe",
                )


def streaming_user_key_pair(resources, _ctx):
    roles = _streaming_roles(resources)
    users = {
        str(_plain(u.props.get("name"))).upper(): u for u in resources if u.type in (*SERVICE_USERS, *PASSWORD_USERS)
    }
    for grant in _of(resources, GRANT_ROLE):
        if str(_plain(grant.props.get("roleName"))).upper() not in roles or not grant.props.get("userName"):
            continue
        name = str(_plain(grant.props.get("userName"))).upper()
        user = users.get(name)
        if user is None:
            continue
        if user.type != KEY_PAIR_USER:
            yield user, f"holds a streaming role but is a {user.type.rsplit(':', 1)[-1]}: use ServiceUser (no password)"
        elif not _plain(user.props.get("rsaPublicKey")):
            yield user, "holds a streaming role but has no rsaPublicKey: set streamingUserPublicKey"


def runs_in_a_warehouse_session(resource: Resource, _ctx):
    provider = resource.provider_props
    # The engine hands a policy the provider's inputs with unknowns kept
    # (pulumi pkg/resource/plugin/analyzer_plugin.go, marshalProvider:
    # KeepUnknowns), so in a first preview the key is there while the
    # warehouse's id is not known yet. Keys only: Mapping's `in` reads the
    # value, and the policy SDK's proxy raises on an unknown one.
    if provider is not None and "warehouse" not in list(provider):
        yield (
            "its provider has no default warehouse, and Snowflake needs one in the session for this resource "
            "(pulumi-snowflake: 'Required warehouse'). Give it the provider whose `warehouse` is the POC warehouse "
            "(infra/snowflake_provider.py, warehouse_session_provider)"
        )


def stateful_protected(resource: Resource, _ctx):
    if not resource.protect:
        yield "is not protected: `pulumi destroy` or a replacement would delete data that cannot be recreated"


# --- secrets -----------------------------------------------------------------------


def _plain_strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if _is_secret(value):
        return
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _plain_strings(item, f"{path}.{key}")
    elif isinstance(value, Sequence):
        for index, item in enumerate(value):
            yield from _plain_strings(item, f"{path}[{index}]")


def no_secret_in_plain_output(resources, ctx: Context):
    secrets = [s for s in ctx.secret_values if s and len(s) >= 4]
    for stack in _of(resources, STACK):
        for name, output in stack.props.items():
            for path, text in _plain_strings(output, name):
                if any(secret in text for secret in secrets):
                    yield stack, f"stack output {path} shows a secret config value in plain text: export it as a secret"


POLICIES: tuple[Policy, ...] = (
    Policy(
        "bucket-public-access-blocked",
        "Every bucket has a public access block with all four settings on: no ACL or policy makes raw events public.",
        mandatory,
        check_stack=bucket_public_access_blocked,
    ),
    Policy(
        "bucket-tls-only",
        "Every bucket's policy denies aws:SecureTransport = false: raw events never travel over plain HTTP.",
        mandatory,
        check_stack=bucket_tls_only,
    ),
    Policy(
        "bucket-encrypted",
        "Every bucket has default server-side encryption: raw events are encrypted at rest.",
        mandatory,
        check_stack=bucket_encrypted,
    ),
    Policy(
        "bucket-versioned",
        "Every bucket is versioned: an overwritten or deleted raw event file can be recovered.",
        mandatory,
        check_stack=bucket_versioned,
    ),
    Policy(
        "iam-trust-requires-external-id",
        "A role that an AWS principal (such as a Snowflake integration's IAM user) may assume requires sts:ExternalId: "
        "no other Snowflake account can use it (confused deputy).",
        mandatory,
        types=(IAM_ROLE,),
        check_resource=trust_requires_external_id,
    ),
    Policy(
        "iam-no-wildcard-action",
        "No policy allows a wildcard action (or NotAction): every permission is named.",
        mandatory,
        types=tuple(POLICY_DOCUMENTS),
        check_resource=no_wildcard_action,
    ),
    Policy(
        "iam-s3-only-stack-bucket",
        "IAM policies reach no S3 resource outside this stack's bucket.",
        mandatory,
        check_stack=s3_resources_in_stack_bucket,
    ),
    Policy(
        "snowflake-read-role-no-write",
        "The role Snowflake's storage integration assumes only reads (Get/List/Describe/Head).",
        mandatory,
        check_stack=snowflake_read_role_no_write,
    ),
    Policy(
        "notification-object-created-under-prefix",
        "Bucket notifications send only s3:ObjectCreated:* under a stage's prefix: no other object wakes the pipe.",
        mandatory,
        check_stack=notification_object_created_under_prefix,
    ),
    Policy(
        "warehouse-auto-suspends",
        f"Warehouses auto-suspend within {MAX_AUTO_SUSPEND_SECONDS} s and auto-resume: idle costs nothing.",
        mandatory,
        types=(WAREHOUSE,),
        check_resource=warehouse_auto_suspends,
    ),
    Policy(
        "warehouse-size-limit",
        "Warehouses are at most the configured size (policy config maxWarehouseSize, default XSMALL): cost.",
        advisory,
        types=(WAREHOUSE,),
        check_resource=warehouse_size_limit,
    ),
    Policy(
        "warehouse-has-resource-monitor",
        "Every warehouse names a resource monitor of the stack with a credit quota and a suspend trigger: "
        "spending is capped.",
        mandatory,
        check_stack=warehouse_has_resource_monitor,
    ),
    Policy(
        "service-user-no-password",
        "Service users have no password: they log in with a key pair only.",
        mandatory,
        types=PASSWORD_USERS,
        check_resource=service_user_no_password,
    ),
    Policy(
        "service-user-rsa-key",
        "Service users have an RSA public key (mandatory in prod* stacks, advisory elsewhere).",
        mandatory_in_prod,
        types=SERVICE_USERS,
        check_resource=service_user_rsa_key,
    ),
    Policy(
        "pipe-on-error-skip-file",
        "Pipes COPY with ON_ERROR = SKIP_FILE: a bad file is skipped whole and reported, never half-loaded.",
        mandatory,
        types=(PIPE,),
        check_resource=pipe_skips_bad_files,
    ),
    Policy(
        "pipe-error-integration",
        "Pipes name an error integration: every skipped file is published (SNS).",
        mandatory,
        types=(PIPE,),
        check_resource=pipe_reports_errors,
    ),
    Policy(
        "streaming-role-least-privilege",
        "A role with OPERATE on a streaming pipe holds only what the Snowpipe Streaming API needs: USAGE on the "
        "database and schema, INSERT on the table, OPERATE on the pipe.",
        mandatory,
        check_stack=streaming_role_least_privilege,
    ),
    Policy(
        "streaming-user-key-pair",
        "A user holding a streaming role is a ServiceUser (no password) with an RSA public key.",
        mandatory,
        check_stack=streaming_user_key_pair,
    ),
    Policy(
        "required-warehouse-in-session",
        "Resources Snowflake runs on a warehouse (Python procedures, views) use a provider with a default warehouse.",
        mandatory,
        types=NEED_SESSION_WAREHOUSE,
        check_resource=runs_in_a_warehouse_session,
    ),
    Policy(
        "stateful-resources-protected",
        "Buckets and tables are protected (mandatory in prod* stacks, advisory elsewhere): data is not destroyed.",
        mandatory_in_prod,
        types=(*BUCKET_TYPES, TABLE),
        check_resource=stateful_protected,
    ),
    Policy(
        "no-secret-in-plain-output",
        "No stack output shows a secret config value in plain text.",
        mandatory,
        check_stack=no_secret_in_plain_output,
    ),
)


def violations(
    resources: Iterable[Resource], stack_name: str, config: Mapping[str, Any] | None = None
) -> list[Violation]:
    """Every policy over every resource. `config`: maxWarehouseSize, secretValues (the stack's secret config values)."""
    config = config or {}
    ctx = Context(
        stack=stack_name,
        max_warehouse_size=config.get("maxWarehouseSize") or DEFAULT_MAX_WAREHOUSE_SIZE,
        secret_values=tuple(config.get("secretValues") or ()),
    )
    resources = list(resources)
    found: list[Violation] = []
    for policy in POLICIES:
        level = policy.enforcement(stack_name)
        if policy.check_resource is not None:
            for resource in resources:
                if resource.type in policy.types:
                    for message in policy.check_resource(resource, ctx):
                        found.append(Violation(policy.name, _label(resource), message, level, resource.urn))
        if policy.check_stack is not None:
            for resource, message in policy.check_stack(resources, ctx):
                label = _label(resource) if resource is not None else "stack"
                urn = resource.urn if resource is not None else ""
                found.append(Violation(policy.name, label, message, level, urn))
    return found


class PolicyViolationError(RuntimeError):
    """A mandatory policy refused the stack; the message names each policy and resource."""


def refuse_mandatory(found: Iterable[Violation], stack_name: str) -> list[Violation]:
    """Raises for mandatory violations; returns the advisory ones (to print as warnings)."""
    found = list(found)
    blocking = [v for v in found if v.enforcement == MANDATORY]
    if blocking:
        raise PolicyViolationError(
            f"stack '{stack_name}' violates {len(blocking)} mandatory polic{'y' if len(blocking) == 1 else 'ies'} "
            "(policy/checks.py); nothing was created:\n" + "\n".join(f"  {v}" for v in blocking)
        )
    return [v for v in found if v.enforcement == ADVISORY]
