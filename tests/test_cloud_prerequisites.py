"""The cloud suite's skip reason names exactly what is missing (tests/cloud/prerequisites.py)."""

from __future__ import annotations

from tests.cloud.prerequisites import missing, skip_reason

ALL_SNOWFLAKE = {
    "SNOWFLAKE_ORGANIZATION_NAME": "o", "SNOWFLAKE_ACCOUNT_NAME": "a", "SNOWFLAKE_USER": "u",
    "SNOWFLAKE_PRIVATE_KEY": "k", "AWS_REGION": "us-east-1",
}  # fmt: skip


def _missing(environ, *, pulumi=True, logged_in=True, aws=True):
    return missing(
        environ,
        which=lambda _name: "/usr/bin/pulumi" if pulumi else None,
        aws_credentials_found=lambda: aws,
        pulumi_logged_in=lambda: logged_in,
    )


def test_nothing_missing_means_no_gap():
    assert _missing(ALL_SNOWFLAKE) == []


def test_every_gap_is_named():
    gaps = _missing({"SNOWFLAKE_USER": "u"}, pulumi=False, aws=False)
    assert gaps == [
        "the Pulumi CLI (`pulumi` is not on PATH)",
        "AWS credentials (boto3 finds none: AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, SSO ...)",
        "AWS_REGION (the Snowflake account's region, e.g. us-east-1)",
        "Snowflake credentials (SNOWFLAKE_ORGANIZATION_NAME, SNOWFLAKE_ACCOUNT_NAME, SNOWFLAKE_PRIVATE_KEY not set)",
    ]
    assert skip_reason(gaps).startswith("cloud e2e needs the Pulumi CLI")


def test_pulumi_without_a_login_is_named():
    assert _missing(ALL_SNOWFLAKE, logged_in=False) == [
        "a Pulumi backend login (`pulumi whoami` fails: set PULUMI_ACCESS_TOKEN or run `pulumi login`)"
    ]
