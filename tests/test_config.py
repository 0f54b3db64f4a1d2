"""Bad stack configuration stops the program before any resource, naming the key and the fix."""

from __future__ import annotations

import re

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa

from infra.config import ConfigError, bucket_name_problem, events_prefix_problem, rsa_public_key_body
from local_stack.account.dynamic_resources import reveal
from local_stack.engine.program_runner import PROJECT_DIR, ProgramRun, run_program
from tests.fake_cloud import FakeCloud

NS = "ecommerce-analytics"


@pytest.fixture(autouse=True)
def no_snowflake_account_in_environment(monkeypatch):
    # config falls back to these for snowflakeAccount, as the provider does.
    monkeypatch.delenv("SNOWFLAKE_ORGANIZATION_NAME", raising=False)
    monkeypatch.delenv("SNOWFLAKE_ACCOUNT_NAME", raising=False)


class RecordingCloud(FakeCloud):
    def __init__(self):
        super().__init__()
        self.created: list[str] = []

    def new_resource(self, args):
        self.created.append(f"{args.typ}::{args.name}")
        return super().new_resource(args)


def evaluate_with(**overrides: str) -> tuple[str, list[str]]:
    cloud = RecordingCloud()
    with pytest.raises(ConfigError) as raised:
        run_program(cloud, "dev", overrides={f"{NS}:iamPropagationSeconds": "0", **overrides})
    custom = [c for c in cloud.created if not c.startswith("ecommerce:")]
    return str(raised.value), custom


def evaluate_ok(cloud: FakeCloud | None = None, **overrides: str) -> ProgramRun:
    keys = {f"{NS}:iamPropagationSeconds": "0", **{f"{NS}:{k}": v for k, v in overrides.items()}}
    return run_program(cloud or FakeCloud(), "dev", overrides=keys)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        (f"{NS}:eventsPrefix", "/events/", r"eventsPrefix: '/events/' must not start with '/'"),
        (f"{NS}:warehouseSize", "HUGE", r"warehouseSize: 'HUGE' is not one of XSMALL"),
        (f"{NS}:bucketName", "My_Bucket", r"bucketName: 'My_Bucket' must be 3-63 characters"),
        (f"{NS}:bucketName", "192.168.1.1", r"must not be formatted as an IP address"),
        (f"{NS}:snowflakeAccountRegion", "eu-west-1", r"aws:region: is 'us-east-1' but the Snowflake account is in"),
        (f"{NS}:snowflakeAccountRegion", "AWS_US_EAST_1", r"snowflakeAccountRegion: 'AWS_US_EAST_1' is not an AWS"),
        (f"{NS}:snowflakeNamePrefix", "ecommerce-poc", r"snowflakeNamePrefix: 'ecommerce-poc' must be an unquoted"),
        (f"{NS}:iamPropagationSeconds", "lots", r"iamPropagationSeconds: must be a whole number"),
        (f"{NS}:iamPropagationSeconds", "601", r"iamPropagationSeconds: must be a whole number from 0 to 600, got 601"),
        (f"{NS}:iamPropagationSeconds", "-1", r"iamPropagationSeconds: must be a whole number from 0 to 600, got -1"),
        (f"{NS}:forceDestroy", "maybe", r"forceDestroy: must be true or false"),
        (f"{NS}:transformationCompute", "gpu", r"transformationCompute: 'gpu' is not one of serverless, warehouse"),
        (f"{NS}:transformationScheduleMinutes", "0", r"transformationScheduleMinutes: must be a whole number from 1"),
        (f"{NS}:dashboardUserPublicKey", "ssh-rsa AAAA", r"dashboardUserPublicKey: is not an RSA public key"),
        (f"{NS}:supersetUrl", "https://superset.example.com", r"supersetPassword: is required when supersetUrl"),
        (f"{NS}:supersetUrl", "https://superset.example.com", r"dashboardUserPrivateKey: is required when supersetUrl"),
        (f"{NS}:supersetUrl", "https://superset.example.com", r"snowflakeAccount: is required when supersetUrl"),
        (f"{NS}:supersetUrl", "superset.example.com", r"supersetUrl: 'superset.example.com' must be an http\(s\) URL"),
    ],
)
def test_bad_value_names_the_key_and_creates_nothing(key, value, expected):
    message, created = evaluate_with(**{key: value})
    assert re.search(expected, message), f"error for {key}={value!r} should match {expected!r}, got:\n{message}"
    assert not created, f"bad config must stop before any resource, yet {created} were registered"


def test_every_problem_is_reported_at_once():
    message, _ = evaluate_with(**{f"{NS}:eventsPrefix": "/x", f"{NS}:warehouseSize": "HUGE"})
    assert "eventsPrefix" in message and "warehouseSize" in message, message


def test_missing_required_value_says_how_to_set_it():
    message, _ = evaluate_with(**{f"{NS}:snowflakeAccountRegion": ""})
    assert f"pulumi config set {NS}:snowflakeAccountRegion" in message, message


@pytest.mark.parametrize(("given", "normalised"), [("events", "events/"), ("raw/events/", "raw/events/")])
def test_events_prefix_is_a_folder_with_one_trailing_slash(given, normalised):
    run = evaluate_ok(eventsPrefix=given)
    assert run.exports["events_prefix"] == normalised
    stage = reveal(run.one("snowflake:index/stageExternalS3:StageExternalS3").outputs)
    assert stage["url"] == f"s3://{run.exports['bucket']}/{normalised}", "the stage must read that folder"


@pytest.mark.parametrize(("given", "size"), [("x-small", "XSMALL"), ("Medium", "MEDIUM"), ("x4-large", "X4LARGE")])
def test_warehouse_size_is_accepted_in_any_case_and_with_hyphens(given, size):
    """Snowflake names sizes X-Small or XSMALL; the provider wants XSMALL."""
    run = evaluate_ok(warehouseSize=given)
    assert reveal(run.one("snowflake:index/warehouse:Warehouse").outputs)["warehouseSize"] == size


@pytest.mark.parametrize("seconds", [0, 600])
def test_iam_propagation_seconds_bounds_are_inclusive(seconds):
    cloud = FakeCloud()
    evaluate_ok(cloud, iamPropagationSeconds=str(seconds))
    # One wait per IAM role Snowflake assumes: the storage integration's and the error notifications'.
    assert cloud.iam_waits == [seconds, seconds], f"the IAM waits were asked for {cloud.iam_waits} s"


@pytest.mark.parametrize("name", ["ecommerce-raw-events", "a.b-c", "abc"])
def test_bucket_names_s3_accepts_pass(name):
    assert bucket_name_problem(name) is None


@pytest.mark.parametrize("name", ["ab", "a..b", "-abc", "abc-", "xn--abc", "abc-s3alias", "ABC", "a" * 64])
def test_bucket_names_s3_refuses_fail(name):
    assert bucket_name_problem(name), f"S3 refuses bucket name {name!r}; validation let it through"


@pytest.mark.parametrize("prefix", ["/events/", "", "/", "a//b/", "../x/", "ev ents/"])
def test_bad_events_prefixes_are_refused(prefix):
    assert events_prefix_problem(prefix), f"events prefix {prefix!r} should be refused"


def _public_pem(key) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def test_rsa_public_key_is_accepted_as_pem_or_body_and_reaches_the_dashboard_user():
    pem = _public_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    body = "".join(pem.strip().splitlines()[1:-1])
    assert rsa_public_key_body(pem) == (body, None)
    assert rsa_public_key_body(body) == (body, None)
    run = evaluate_ok(dashboardUserPublicKey=pem)
    assert reveal(run.one("snowflake:index/serviceUser:ServiceUser").outputs)["rsaPublicKey"] == body


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        # Looks like a key to a pattern (MII + base64), but is no DER key: a pattern check would accept it.
        ("MII" + "A" * 120, r"is not an RSA public key: set the base64 body"),
        ("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7", r"is not an RSA public key"),
        (_public_pem(ec.generate_private_key(ec.SECP256R1())), r"is a public key but not RSA"),
        (_public_pem(dsa.generate_private_key(key_size=2048)), r"is a public key but not RSA"),
        (
            _public_pem(rsa.generate_private_key(public_exponent=65537, key_size=1024)),
            r"is a 1024-bit RSA key; Snowflake needs 2048 bits",
        ),
    ],
    ids=["garbage-body", "ssh-format", "ec-key", "dsa-2048", "rsa-1024"],
)
def test_public_keys_snowflake_would_refuse_are_refused(key, expected):
    """Parsed with cryptography."""
    message, created = evaluate_with(**{f"{NS}:dashboardUserPublicKey": key})
    assert re.search(rf"dashboardUserPublicKey: {expected}", message), message
    assert not created


def test_every_project_key_is_declared_with_a_type_and_description():
    declared = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())["config"]
    source = (PROJECT_DIR / "infra" / "config.py").read_text()
    read_keys = set(re.findall(r'(?:require|boolean|integer|identifier|get|get_secret)\("([a-zA-Z]+)"', source))
    read_keys.discard("region")  # aws:region belongs to the AWS provider
    assert read_keys <= set(declared), f"config.py reads undeclared keys: {sorted(read_keys - set(declared))}"
    for key, declaration in declared.items():
        assert declaration.get("type") and declaration.get("description"), (
            f"Pulumi.yaml: {key} needs type and description"
        )


def test_dev_stack_commits_no_encrypted_values():
    text = (PROJECT_DIR / "Pulumi.dev.yaml").read_text()
    assert "secure:" not in text, "Pulumi.dev.yaml must evaluate without a passphrase or secrets provider"
