"""Stack configuration: read and validated here, and nowhere else.

Every key is declared (type, description, default) in Pulumi.yaml; the Pulumi
CLI fills in those defaults, so this module holds no default values of its
own. A missing or bad value stops the program before any resource is
declared, with one message listing every problem, the key and the fix.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import re
from dataclasses import dataclass

import pulumi
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from infra.sql_source import SchemaPath

PROJECT_NAMESPACE = "ecommerce-analytics"

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

_AWS_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_SNOWFLAKE_IDENTIFIER = re.compile(r"^[A-Z][A-Z0-9_]{0,200}$")
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_PREFIX_CHARS = re.compile(r"^[A-Za-z0-9!_.*'()/=-]+$")
_IAM_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
# Where the conversion task runs; docs/cost.md has the numbers behind the default.
TRANSFORMATION_COMPUTES = ("serverless", "warehouse")
# What SNS accepts as an email endpoint, roughly: one @, a dotted domain, no spaces.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Which ingestion paths the stack deploys (docs/streaming.md says when to use which).
INGESTION_MODES = ("files", "streaming", "both")


class ConfigError(pulumi.RunError):
    """The stack configuration is invalid; the message names each key and its fix."""


@dataclass(frozen=True)
class SupersetConfig:
    url: str
    username: str
    password: pulumi.Output[str]
    snowflake_account: str  # ORGNAME-ACCOUNTNAME, for the connection URI
    private_key: pulumi.Output[str]  # key-pair auth of the dashboard user
    private_key_passphrase: pulumi.Output[str] | None


@dataclass(frozen=True)
class PocConfig:
    stack: str
    aws_region: str
    snowflake_account_region: str
    bucket_name: str | None  # None: Pulumi names the bucket
    events_prefix: str  # never starts with "/", always ends with "/"
    force_destroy: bool
    snowflake_name_prefix: str
    schema: str
    warehouse_size: str
    snowflake_admin_role: str
    iam_role_name: str
    iam_propagation_seconds: int
    dashboard_user_public_key: str | None
    superset: SupersetConfig | None
    error_notification_email: str | None  # None: no email subscription
    monthly_credit_quota: int
    transformation_compute: str  # one of TRANSFORMATION_COMPUTES
    transformation_schedule_minutes: int
    transformation_timeout_seconds: int
    dashboard_refresh_seconds: int
    ingestion: str  # one of INGESTION_MODES
    streaming_user_public_key: str | None  # set whenever ingestion includes streaming
    existing_warehouse: str | None = None  # None: the stack creates the warehouse and its resource monitor

    @property
    def files_ingestion(self) -> bool:
        return self.ingestion in ("files", "both")

    @property
    def streaming_ingestion(self) -> bool:
        return self.ingestion in ("streaming", "both")

    @property
    def streaming_role(self) -> str:
        return f"{self.snowflake_name_prefix}_STREAMING_INGEST"

    @property
    def streaming_user(self) -> str:
        return f"{self.snowflake_name_prefix}_STREAMING"

    @property
    def protect_stateful(self) -> bool:
        """Production stacks keep the bucket and tables from `pulumi destroy`."""
        return self.stack.startswith("prod")

    @property
    def database(self) -> str:
        return self.snowflake_name_prefix

    @property
    def warehouse(self) -> str:
        return f"{self.snowflake_name_prefix}_WH"

    @property
    def storage_integration(self) -> str:
        return f"{self.snowflake_name_prefix}_EVENTS_S3"

    @property
    def error_integration(self) -> str:
        return f"{self.snowflake_name_prefix}_PIPE_ERRORS"

    @property
    def error_role_name(self) -> str:
        return f"{self.iam_role_name[:60]}-sns"

    @property
    def resource_monitor(self) -> str:
        return f"{self.snowflake_name_prefix}_WH_MONITOR"

    @property
    def dashboard_role(self) -> str:
        return f"{self.snowflake_name_prefix}_DASHBOARD_READER"

    @property
    def dashboard_user(self) -> str:
        return f"{self.snowflake_name_prefix}_DASHBOARD"

    @property
    def schema_path(self) -> SchemaPath:
        return SchemaPath(self.database, self.schema)


def bucket_name_problem(name: str) -> str | None:
    """Why S3 would refuse this bucket name, or None if it would accept it."""
    if not _BUCKET_NAME.match(name):
        return (
            "must be 3-63 characters of lower-case letters, digits, dots and hyphens, "
            "starting and ending with a letter or digit"
        )
    if ".." in name or ".-" in name or "-." in name:
        return "must not contain '..', '.-' or '-.'"
    try:
        ipaddress.IPv4Address(name)
        return "must not be formatted as an IP address"
    except ValueError:
        pass
    for prefix in ("xn--", "sthree-", "amzn-s3-demo-"):
        if name.startswith(prefix):
            return f"must not start with the reserved prefix '{prefix}'"
    for suffix in ("-s3alias", "--ol-s3", "--x-s3", "--table-s3"):
        if name.endswith(suffix):
            return f"must not end with the reserved suffix '{suffix}'"
    return None


def events_prefix_problem(prefix: str) -> str | None:
    if prefix.startswith("/"):
        return "must not start with '/': S3 keys have no leading slash (use e.g. 'events/')"
    if not prefix.strip("/"):
        return "must name a folder, e.g. 'events/' (an empty prefix would let Snowflake read the whole bucket)"
    if not _PREFIX_CHARS.match(prefix):
        return "may only contain letters, digits, '/' and the characters ! _ . * ' ( ) = -"
    if "//" in prefix or any(part in (".", "..") for part in prefix.split("/")):
        return "must not contain empty, '.' or '..' path segments"
    return None


class _Reader:
    """Collects every problem instead of stopping at the first one."""

    def __init__(self) -> None:
        self.project = pulumi.Config()
        self.problems: list[str] = []

    def fail(self, key: str, problem: str) -> None:
        self.problems.append(f"  {key}: {problem}")

    def require(self, key: str, config: pulumi.Config | None = None) -> str:
        config = config or self.project
        value = config.get(key)
        if value is None or value == "":
            full_key = f"{config.name}:{key}"
            self.fail(full_key, f"is not set: run `pulumi config set {full_key} <value>`")
            return ""
        return value

    def boolean(self, key: str) -> bool:
        try:
            return bool(self.project.get_bool(key))
        except pulumi.ConfigTypeError:
            self.fail(f"{PROJECT_NAMESPACE}:{key}", "must be true or false")
            return False

    def integer(self, key: str, low: int, high: int) -> int:
        try:
            value = self.project.get_int(key)
        except pulumi.ConfigTypeError:
            self.fail(
                f"{PROJECT_NAMESPACE}:{key}",
                f"must be a whole number from {low} to {high}",
            )
            return low
        if value is None or not low <= value <= high:
            self.fail(
                f"{PROJECT_NAMESPACE}:{key}",
                f"must be a whole number from {low} to {high}, got {value}",
            )
            return low
        return value

    def optional_identifier(self, key: str) -> str | None:
        return self.identifier(key) if self.project.get(key) else None

    def identifier(self, key: str) -> str:
        value = self.require(key)
        if value and not _SNOWFLAKE_IDENTIFIER.match(value):
            self.fail(
                f"{PROJECT_NAMESPACE}:{key}",
                f"'{value}' must be an unquoted upper-case Snowflake identifier "
                "(letters, digits and '_', starting with a letter), e.g. ECOMMERCE_POC",
            )
        return value


def load_config() -> PocConfig:
    """Reads the stack's configuration; raises ConfigError naming every bad key."""
    read = _Reader()
    ns = PROJECT_NAMESPACE

    aws_region = read.require("region", pulumi.Config("aws"))
    if aws_region and not _AWS_REGION.match(aws_region):
        read.fail("aws:region", f"'{aws_region}' is not an AWS region name such as us-east-1")
    snowflake_region = read.require("snowflakeAccountRegion")
    if snowflake_region and not _AWS_REGION.match(snowflake_region):
        read.fail(
            f"{ns}:snowflakeAccountRegion",
            f"'{snowflake_region}' is not an AWS region name: use the region of your Snowflake "
            "account (SELECT CURRENT_REGION() shows e.g. AWS_US_EAST_1 -> us-east-1)",
        )
    elif aws_region and snowflake_region and aws_region != snowflake_region:
        read.fail(
            "aws:region",
            f"is '{aws_region}' but the Snowflake account is in '{snowflake_region}': S3 can only "
            "notify the pipe's SQS queue in the bucket's own region, so put the bucket in the "
            f"account's region (`pulumi config set aws:region {snowflake_region}`)",
        )

    bucket_name = read.project.get("bucketName") or None
    if bucket_name and (problem := bucket_name_problem(bucket_name)):
        read.fail(
            f"{ns}:bucketName",
            f"'{bucket_name}' {problem}; or unset it to let Pulumi name the bucket",
        )

    events_prefix = read.require("eventsPrefix")
    if events_prefix and (problem := events_prefix_problem(events_prefix)):
        read.fail(f"{ns}:eventsPrefix", f"'{events_prefix}' {problem}")
    elif events_prefix and not events_prefix.endswith("/"):
        events_prefix += "/"

    warehouse_size = read.require("warehouseSize").upper().replace("-", "")
    if warehouse_size and warehouse_size not in WAREHOUSE_SIZES:
        read.fail(
            f"{ns}:warehouseSize",
            f"'{warehouse_size}' is not one of {', '.join(WAREHOUSE_SIZES)}",
        )

    iam_role_name = read.project.get("iamRoleName") or f"{PROJECT_NAMESPACE}-{pulumi.get_stack()}-snowflake-s3"
    if not _IAM_ROLE_NAME.match(iam_role_name):
        read.fail(
            f"{ns}:iamRoleName",
            f"'{iam_role_name}' must be 1-64 characters of letters, digits and +=,.@_-",
        )

    public_key = read.project.get("dashboardUserPublicKey")
    if public_key:
        public_key, problem = rsa_public_key_body(public_key)
        if problem:
            read.fail(f"{ns}:dashboardUserPublicKey", problem)

    email = read.project.get("errorNotificationEmail") or None
    if email and not _EMAIL.match(email):
        read.fail(
            f"{ns}:errorNotificationEmail",
            f"'{email}' is not an email address such as data-team@example.com; or unset it for no subscription",
        )

    transformation_compute = read.require("transformationCompute").lower()
    if transformation_compute and transformation_compute not in TRANSFORMATION_COMPUTES:
        read.fail(
            f"{ns}:transformationCompute",
            f"'{transformation_compute}' is not one of {', '.join(TRANSFORMATION_COMPUTES)}",
        )
    ingestion = read.project.get("ingestion") or ""
    if ingestion not in INGESTION_MODES:
        read.fail(
            f"{ns}:ingestion",
            f"'{ingestion}' is not one of {', '.join(INGESTION_MODES)}: 'files' (S3 + Snowpipe), 'streaming' "
            "(Snowpipe Streaming REST API) or 'both'",
        )
    streaming_key = read.project.get("streamingUserPublicKey")
    if streaming_key:
        streaming_key, problem = rsa_public_key_body(streaming_key)
        if problem:
            read.fail(f"{ns}:streamingUserPublicKey", problem)
    elif ingestion in ("streaming", "both"):
        read.fail(
            f"{ns}:streamingUserPublicKey",
            f"is required when ingestion is '{ingestion}': the streaming producer logs in with a key pair only. "
            f'Set the public key (`pulumi config set {ns}:streamingUserPublicKey -- "$(cat rsa_key.pub)"`)',
        )

    superset = _superset_config(read)
    if superset and not public_key:
        read.fail(
            f"{ns}:dashboardUserPublicKey",
            "is required when Superset logs in with dashboardUserPrivateKey: set the matching public key",
        )
    config = PocConfig(
        stack=pulumi.get_stack(),
        aws_region=aws_region,
        snowflake_account_region=snowflake_region,
        bucket_name=bucket_name,
        events_prefix=events_prefix,
        force_destroy=read.boolean("forceDestroy"),
        snowflake_name_prefix=read.identifier("snowflakeNamePrefix"),
        schema=read.identifier("snowflakeSchema"),
        warehouse_size=warehouse_size,
        snowflake_admin_role=read.identifier("snowflakeAdminRole"),
        iam_role_name=iam_role_name,
        iam_propagation_seconds=read.integer("iamPropagationSeconds", 0, 600),
        dashboard_user_public_key=public_key or None,
        superset=superset,
        error_notification_email=email,
        monthly_credit_quota=read.integer("monthlyCreditQuota", 1, 1_000_000),
        transformation_compute=transformation_compute,
        # USING CRON aside, a task's SCHEDULE is at most 11520 minutes (8 days): CREATE TASK docs.
        transformation_schedule_minutes=read.integer("transformationScheduleMinutes", 1, 11_520),
        transformation_timeout_seconds=read.integer("transformationTimeoutSeconds", 10, 86_400),
        dashboard_refresh_seconds=read.integer("dashboardRefreshSeconds", 5, 86_400),
        ingestion=ingestion,
        streaming_user_public_key=streaming_key or None,
        existing_warehouse=read.optional_identifier("existingWarehouse"),
    )
    if read.problems:
        raise ConfigError(
            f"stack '{pulumi.get_stack()}' has invalid configuration; nothing was created:\n" + "\n".join(read.problems)
        )
    return config


def _superset_config(read: _Reader) -> SupersetConfig | None:
    ns = PROJECT_NAMESPACE
    url = read.project.get("supersetUrl")
    if not url:
        return None
    if not re.match(r"^https?://[^/\s]+", url):
        read.fail(f"{ns}:supersetUrl", f"'{url}' must be an http(s) URL such as https://superset.example.com")
    password = read.project.get_secret("supersetPassword")
    if password is None:
        read.fail(
            f"{ns}:supersetPassword",
            f"is required when supersetUrl is set: run `pulumi config set --secret {ns}:supersetPassword`",
        )

    account = read.project.get("snowflakeAccount") or _account_from_environment()
    if not account:
        read.fail(
            f"{ns}:snowflakeAccount",
            "is required when supersetUrl is set (Superset's connection names the account): set it to "
            "ORGNAME-ACCOUNTNAME, or export SNOWFLAKE_ORGANIZATION_NAME and SNOWFLAKE_ACCOUNT_NAME",
        )

    private_key = read.project.get_secret("dashboardUserPrivateKey")
    if private_key is None:
        read.fail(
            f"{ns}:dashboardUserPrivateKey",
            "is required when supersetUrl is set: Superset logs in as the dashboard user with this key "
            f'(`pulumi config set --secret {ns}:dashboardUserPrivateKey -- "$(cat rsa_key.p8)"`)',
        )
    return SupersetConfig(
        url=url.rstrip("/"),
        username=read.require("supersetUsername"),
        password=password if password is not None else pulumi.Output.secret(""),
        snowflake_account=account or "",
        private_key=private_key if private_key is not None else pulumi.Output.secret(""),
        private_key_passphrase=read.project.get_secret("dashboardUserPrivateKeyPassphrase"),
    )


def _account_from_environment() -> str | None:
    # The same variables the Snowflake provider reads its account from.
    organization = os.environ.get("SNOWFLAKE_ORGANIZATION_NAME")
    account = os.environ.get("SNOWFLAKE_ACCOUNT_NAME")
    return f"{organization}-{account}" if organization and account else None


def rsa_public_key_body(key: str) -> tuple[str, str | None]:
    """The base64 body Snowflake's RSA_PUBLIC_KEY takes, and why the key would be refused (or None).

    Accepts the PEM file (header lines or not). The key is parsed with
    `cryptography`: it must be an RSA public key of at least 2048 bits, the
    minimum of Snowflake's key-pair authentication (docs.snowflake.com,
    "Key-pair authentication and key-pair rotation").
    """
    lines = [line.strip() for line in key.strip().splitlines()]
    body = "".join(line for line in lines if line and not line.startswith("-----"))
    how = (
        "set the base64 body of rsa_key.pub (`openssl rsa -in rsa_key.p8 -pubout`), "
        "with or without the PEM header lines"
    )
    try:
        loaded = serialization.load_der_public_key(base64.b64decode(body, validate=True))
    except (ValueError, UnsupportedAlgorithm):  # binascii.Error is a ValueError
        return body, f"is not an RSA public key: {how}"
    if not isinstance(loaded, rsa.RSAPublicKey):
        return body, f"is a public key but not RSA, the only kind Snowflake's key-pair authentication takes: {how}"
    if loaded.key_size < 2048:
        return body, f"is a {loaded.key_size}-bit RSA key; Snowflake needs 2048 bits or more: generate a new pair"
    return body, None
