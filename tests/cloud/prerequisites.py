"""What the cloud suite needs, and exactly which of it is missing (the skip reason)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Mapping

SNOWFLAKE_VARIABLES = ("SNOWFLAKE_ORGANIZATION_NAME", "SNOWFLAKE_ACCOUNT_NAME", "SNOWFLAKE_USER",
                       "SNOWFLAKE_PRIVATE_KEY")  # fmt: skip


def _aws_credentials_found() -> bool:
    import boto3

    return boto3.Session().get_credentials() is not None


def _pulumi_logged_in() -> bool:
    done = subprocess.run(["pulumi", "whoami"], capture_output=True, text=True, check=False)
    return done.returncode == 0


def missing(
    environ: Mapping[str, str] = os.environ,
    which: Callable[[str], str | None] = shutil.which,
    aws_credentials_found: Callable[[], bool] = _aws_credentials_found,
    pulumi_logged_in: Callable[[], bool] = _pulumi_logged_in,
) -> list[str]:
    """One entry per missing prerequisite, each naming what to install or set."""
    gaps = []
    if which("pulumi") is None:
        gaps.append("the Pulumi CLI (`pulumi` is not on PATH)")
    elif not pulumi_logged_in():
        gaps.append("a Pulumi backend login (`pulumi whoami` fails: set PULUMI_ACCESS_TOKEN or run `pulumi login`)")
    if not aws_credentials_found():
        gaps.append("AWS credentials (boto3 finds none: AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, SSO ...)")
    if not (environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")):
        gaps.append("AWS_REGION (the Snowflake account's region, e.g. us-east-1)")
    unset = [name for name in SNOWFLAKE_VARIABLES if not environ.get(name)]
    if unset:
        gaps.append(f"Snowflake credentials ({', '.join(unset)} not set)")
    return gaps


def skip_reason(gaps: list[str]) -> str:
    return "cloud e2e needs " + "; ".join(gaps)
