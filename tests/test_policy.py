"""The policy pack's checks over the real program and over violating variants of it.

Each variant is the real program with one thing made wrong, the way a team
editing it might: a config value, a component's helper monkeypatched, or a
wrapper program (the real __main__.py plus a few lines) for a prod stack.
Every variant must be refused by its policy's name; the real program must
pass every policy.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_snowflake as snowflake
import pytest

import infra.config
import infra.snowflake_access
import infra.snowflake_provider
import infra.sql_source
import infra.streaming_ingestion
from local_stack.engine import policy_gate
from local_stack.engine.program_runner import PROJECT_DIR, ProgramRun, run_program
from local_stack.stack import throwaway_key_pair
from policy import checks
from tests.fake_cloud import FakeCloud
from tests.fake_superset import FakeSuperset, serving
from tests.test_program_graph import dev_stack

PUBLIC_KEY = throwaway_key_pair()[0]
NS = "ecommerce-analytics"


def run_dev(overrides: dict[str, str] | None = None) -> ProgramRun:
    # The dev stack's 15 s IAM wait costs nothing here: FakeCloud answers it at once.
    return run_program(FakeCloud(), "dev", overrides=overrides or {})


def run_variant(tmp_path: Path, stack: str, extra_program: str = "", overrides=None, secret_keys=()) -> ProgramRun:
    """The real __main__.py (plus `extra_program`) as stack `stack`, configured like Pulumi.dev.yaml."""
    shutil.copy(PROJECT_DIR / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copy(PROJECT_DIR / "Pulumi.dev.yaml", tmp_path / f"Pulumi.{stack}.yaml")
    (tmp_path / "__main__.py").write_text((PROJECT_DIR / "__main__.py").read_text() + extra_program)
    return run_program(FakeCloud(), stack, overrides=overrides or {}, secret_keys=secret_keys, project_dir=tmp_path)


def names(found: list[checks.Violation], level: str = checks.MANDATORY) -> set[str]:
    return {v.policy for v in found if v.enforcement == level}


def refused(run: ProgramRun, policy: str, stack: str = "dev", resource: str | None = None) -> checks.Violation:
    found = policy_gate.violations(run, stack)
    hits = [v for v in found if v.policy == policy and v.enforcement == checks.MANDATORY]
    assert hits, f"{policy} did not refuse the variant; mandatory violations: {names(found)}"
    if resource:
        assert any(resource in v.resource for v in hits), f"{policy} named {[v.resource for v in hits]}"
    with pytest.raises(checks.PolicyViolationError, match=policy):
        checks.refuse_mandatory(found, stack)
    return hits[0]


def test_every_policy_has_a_refusing_test():
    tested = {name.removeprefix("test_").replace("_", "-") for name in globals() if name.startswith("test_")}
    missing = {p.name for p in checks.POLICIES} - tested
    assert not missing, f"policies without a refusing test named after them: {sorted(missing)}"


def test_real_program_passes_every_policy():
    found = policy_gate.violations(dev_stack(), "dev")
    assert names(found) == set(), "\n".join(map(str, found))
    # Advisory in a dev stack: unprotected stateful resources, a user without a key (none set in Pulumi.dev.yaml).
    assert names(found, checks.ADVISORY) <= {"stateful-resources-protected", "service-user-rsa-key"}


def test_real_program_passes_every_policy_as_a_prod_stack(tmp_path):
    key = PUBLIC_KEY
    run = run_variant(tmp_path, "prod", overrides={f"{NS}:dashboardUserPublicKey": key})
    found = policy_gate.violations(run, "prod")
    assert found == [], "\n".join(map(str, found))


def test_bucket_public_access_blocked(monkeypatch):
    real = aws.s3.BucketPublicAccessBlock
    monkeypatch.setattr(
        aws.s3,
        "BucketPublicAccessBlock",
        lambda resource_name, **kw: real(resource_name, **{**kw, "block_public_policy": False}),
    )
    violation = refused(run_dev(), "bucket-public-access-blocked", resource="raw-events-public-access")
    assert "blockPublicPolicy" in violation.message


def test_bucket_tls_only(monkeypatch):
    monkeypatch.setattr(
        "infra.raw_events_bucket._deny_insecure_transport",
        lambda arn: json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteBucket", "Resource": arn}],
            }
        ),
    )
    refused(run_dev(), "bucket-tls-only", resource="raw-events-bucket")


def test_bucket_encrypted(monkeypatch):
    monkeypatch.setattr(aws.s3, "BucketServerSideEncryptionConfiguration", lambda *args, **kwargs: None)
    refused(run_dev(), "bucket-encrypted", resource="raw-events-bucket")


def test_bucket_versioned(monkeypatch):
    real = aws.s3.BucketVersioning
    monkeypatch.setattr(
        aws.s3,
        "BucketVersioning",
        lambda resource_name, **kw: real(resource_name, **{**kw, "versioning_configuration": {"status": "Suspended"}}),
    )
    refused(run_dev(), "bucket-versioned", resource="raw-events-bucket")


def test_iam_trust_requires_external_id(monkeypatch):
    real = infra.snowflake_access._trust_policy

    def without_condition(user_arn, external_id):
        document = json.loads(real(user_arn, external_id))
        del document["Statement"][0]["Condition"]
        return json.dumps(document)

    monkeypatch.setattr(infra.snowflake_access, "_trust_policy", without_condition)
    refused(run_dev(), "iam-trust-requires-external-id", resource="snowflake-access-role")


def _with_statement(monkeypatch, statement: dict) -> None:
    real = infra.snowflake_access._read_events_policy

    def widened(bucket_arn, prefix):
        document = json.loads(real(bucket_arn, prefix))
        document["Statement"].append(statement)
        return json.dumps(document)

    monkeypatch.setattr(infra.snowflake_access, "_read_events_policy", widened)


def test_iam_no_wildcard_action(monkeypatch):
    _with_statement(monkeypatch, {"Sid": "Lazy", "Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::x"})
    violation = refused(run_dev(), "iam-no-wildcard-action", resource="snowflake-access-read-events")
    assert "s3:Get*" in violation.message


def test_iam_s3_only_stack_bucket(monkeypatch):
    other = "arn:aws:s3:::someone-elses-bucket/*"
    _with_statement(monkeypatch, {"Sid": "Other", "Effect": "Allow", "Action": "s3:GetObject", "Resource": other})
    violation = refused(run_dev(), "iam-s3-only-stack-bucket", resource="snowflake-access-read-events")
    assert other in violation.message


def test_snowflake_read_role_no_write(monkeypatch):
    _with_statement(
        monkeypatch, {"Sid": "Tidy", "Effect": "Allow", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::x"}
    )
    violation = refused(run_dev(), "snowflake-read-role-no-write", resource="snowflake-access-read-events")
    assert "s3:DeleteObject" in violation.message


@pytest.mark.parametrize(
    "change",
    [{"events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]}, {"filter_prefix": "other/"}, {"filter_prefix": None}],
)
def test_notification_object_created_under_prefix(monkeypatch, change):
    real = aws.s3.BucketNotificationQueueArgs
    monkeypatch.setattr(aws.s3, "BucketNotificationQueueArgs", lambda **kw: real(**{**kw, **change}))
    refused(run_dev(), "notification-object-created-under-prefix", resource="ingestion-notification")


def _warehouse_with(monkeypatch, **change) -> None:
    real = snowflake.Warehouse

    def changed(resource_name, **kw):
        kw.update(change)
        return real(resource_name, **{k: v for k, v in kw.items() if v is not None})

    monkeypatch.setattr(snowflake, "Warehouse", changed)


@pytest.mark.parametrize("change", [{"auto_suspend": 0}, {"auto_suspend": 3600}, {"auto_resume": "false"}])
def test_warehouse_auto_suspends(monkeypatch, change):
    _warehouse_with(monkeypatch, **change)
    refused(run_dev(), "warehouse-auto-suspends", resource="analytics-warehouse")


def test_warehouse_size_limit():
    found = policy_gate.violations(run_dev({f"{NS}:warehouseSize": "MEDIUM"}), "dev")
    (violation,) = [v for v in found if v.policy == "warehouse-size-limit"]
    assert violation.enforcement == checks.ADVISORY, "size is a cost rule: advisory"
    assert "MEDIUM" in violation.message
    larger_limit = policy_gate.violations(
        run_dev({f"{NS}:warehouseSize": "MEDIUM"}), "dev", {"maxWarehouseSize": "LARGE"}
    )
    assert "warehouse-size-limit" not in {v.policy for v in larger_limit}


def test_warehouse_has_resource_monitor(monkeypatch):
    _warehouse_with(monkeypatch, resource_monitor=None)
    refused(run_dev(), "warehouse-has-resource-monitor", resource="analytics-warehouse")


def test_service_user_no_password(monkeypatch):
    def legacy_user(resource_name, **kw):
        return snowflake.LegacyServiceUser(resource_name, password="Winter2026!", **kw)

    monkeypatch.setattr(snowflake, "ServiceUser", legacy_user)
    refused(run_dev(), "service-user-no-password", resource="dashboard-access-user")


def test_service_user_rsa_key(tmp_path):
    run = run_variant(tmp_path, "prod")  # Pulumi.dev.yaml's settings: no dashboardUserPublicKey
    refused(run, "service-user-rsa-key", stack="prod", resource="dashboard-access-user")


def test_pipe_on_error_skip_file(monkeypatch):
    real = infra.sql_source.pipe_copy_statement
    monkeypatch.setattr(
        infra.sql_source,
        "pipe_copy_statement",
        lambda *a: real(*a).replace("ON_ERROR = SKIP_FILE", "ON_ERROR = CONTINUE"),
    )
    violation = refused(run_dev(), "pipe-on-error-skip-file", resource="ingestion-pipe")
    assert "CONTINUE" in violation.message


def test_pipe_error_integration(monkeypatch):
    real = snowflake.Pipe
    monkeypatch.setattr(
        snowflake, "Pipe", lambda resource_name, error_integration=None, **kw: real(resource_name, **kw)
    )
    refused(run_dev(), "pipe-error-integration", resource="ingestion-pipe")


def test_required_warehouse_in_session(monkeypatch):
    """Procedure and views on a provider without a default warehouse (the wiring before this check) are refused."""

    def without_warehouse(role: str, warehouse_id=None) -> snowflake.Provider:
        return snowflake.Provider("snowflake-warehouse-session", role=role)

    monkeypatch.setattr(infra.snowflake_provider, "warehouse_session_provider", without_warehouse)
    violation = refused(run_dev(), "required-warehouse-in-session", resource="conversion-procedure-procedure")
    assert "no default warehouse" in violation.message


def test_the_warehouse_list_is_the_installed_providers():
    """checks.NEED_SESSION_WAREHOUSE (the pack imports no provider) against pulumi-snowflake's own docstrings."""
    documented = set()
    for name in dir(snowflake):
        kind = getattr(snowflake, name)
        if isinstance(kind, type) and issubclass(kind, pulumi.CustomResource):
            source = Path(sys.modules[kind.__module__].__file__).read_text(encoding="utf-8")
            if "**Required warehouse**" in source:
                documented.add(f"snowflake:index/{name[0].lower()}{name[1:]}:{name}")
    assert set(checks.NEED_SESSION_WAREHOUSE) == documented


def test_stateful_resources_protected(tmp_path, monkeypatch):
    monkeypatch.setattr(infra.config.PocConfig, "protect_stateful", property(lambda self: False))
    run = run_variant(tmp_path, "prod", overrides={f"{NS}:dashboardUserPublicKey": PUBLIC_KEY})
    refused(run, "stateful-resources-protected", stack="prod", resource="raw-events-bucket")
    refused(run, "stateful-resources-protected", stack="prod", resource="tables-ecommerce_events")


@pytest.fixture(scope="module")
def superset_url():
    """A stand-in Superset: the program's import runs for real against it (tests/fake_superset.py)."""
    with serving(FakeSuperset(username="admin", password="correct-horse-battery")) as url:
        yield url


def test_no_secret_in_plain_output(tmp_path, superset_url):
    leak = (
        '\npulumi.export("superset_login", '
        'pulumi.Output.unsecret(pulumi.Config().require_secret("supersetPassword")))\n'
    )
    superset = {
        f"{NS}:supersetUrl": superset_url,
        f"{NS}:supersetPassword": "correct-horse-battery",
        f"{NS}:dashboardUserPublicKey": PUBLIC_KEY,
        f"{NS}:dashboardUserPrivateKey": "-----BEGIN PRIVATE KEY-----\nnot-a-real-key\n-----END PRIVATE KEY-----",
        f"{NS}:snowflakeAccount": "ORG-ACCOUNT",
    }
    secret_keys = (f"{NS}:supersetPassword", f"{NS}:dashboardUserPrivateKey")
    clean = run_variant(tmp_path, "dev", overrides=superset, secret_keys=secret_keys)
    assert "no-secret-in-plain-output" not in {v.policy for v in policy_gate.violations(clean, "dev")}
    leaky = run_variant(tmp_path, "dev", leak, overrides=superset, secret_keys=secret_keys)
    violation = refused(leaky, "no-secret-in-plain-output", resource="stack")
    assert "superset_login" in violation.message
    assert "correct-horse-battery" not in str(violation), "the refusal must not print the secret itself"


def test_secret_output_is_not_a_violation(tmp_path, superset_url):
    """The same value exported as a secret is fine: the rule is about plain text."""
    kept_secret = '\npulumi.export("superset_login", pulumi.Config().require_secret("supersetPassword"))\n'
    run = run_variant(
        tmp_path,
        "dev",
        kept_secret,
        overrides={
            f"{NS}:supersetUrl": superset_url,
            f"{NS}:supersetPassword": "correct-horse-battery",
            f"{NS}:dashboardUserPublicKey": PUBLIC_KEY,
            f"{NS}:dashboardUserPrivateKey": "-----BEGIN PRIVATE KEY-----\nnot-a-real-key\n-----END PRIVATE KEY-----",
            f"{NS}:snowflakeAccount": "ORG-ACCOUNT",
        },
        secret_keys=(f"{NS}:supersetPassword", f"{NS}:dashboardUserPrivateKey"),
    )
    assert "no-secret-in-plain-output" not in {v.policy for v in policy_gate.violations(run, "dev")}


STREAMING = {f"{NS}:ingestion": "both", f"{NS}:streamingUserPublicKey": PUBLIC_KEY}


def test_streaming_stack_passes_every_policy():
    # The streaming pipe has neither ON_ERROR = SKIP_FILE nor an error integration, by design (issue 19).
    found = policy_gate.violations(run_dev(STREAMING), "dev")
    assert names(found) == set(), "\n".join(map(str, found))


def test_streaming_role_least_privilege(monkeypatch):
    monkeypatch.setitem(infra.streaming_ingestion.STREAMING_PRIVILEGES, "TABLE", ("INSERT", "SELECT"))
    violation = refused(run_dev(STREAMING), "streaming-role-least-privilege")
    assert "SELECT on TABLE ECOMMERCE_DEV.ANALYTICS.ECOMMERCE_EVENTS" in violation.message


def test_streaming_user_key_pair(monkeypatch):
    real = snowflake.ServiceUser

    def without_key(resource_name, **kwargs):
        if kwargs.get("name") == "ECOMMERCE_DEV_STREAMING":
            kwargs.pop("rsa_public_key")
        return real(resource_name, **kwargs)

    monkeypatch.setattr(snowflake, "ServiceUser", without_key)
    violation = refused(run_dev(STREAMING), "streaming-user-key-pair", resource="streaming-ingestion-user")
    assert "no rsaPublicKey" in violation.message
