"""The README's commands on a real, throwaway stack, in a user's order: preview → up → smoke → refresh → preview →
destroy, through pulumi.automation.

A uniquely named stack (and Snowflake name prefix and IAM role) per run, config
from the environment, forceDestroy on so destroy empties the bucket; destroy
and `stack rm` run even when a step fails. Skipped, naming exactly what is
missing, where the Pulumi CLI (logged in), AWS credentials or the SNOWFLAKE_*
variables are absent. Run by .github/workflows/cloud-e2e.yml.

Environment: AWS credentials and AWS_REGION (= the Snowflake account's region);
SNOWFLAKE_ORGANIZATION_NAME, SNOWFLAKE_ACCOUNT_NAME, SNOWFLAKE_USER,
SNOWFLAKE_PRIVATE_KEY (+ SNOWFLAKE_PRIVATE_KEY_PASSPHRASE, SNOWFLAKE_ROLE);
optional CLOUD_E2E_SUPERSET_URL / _USERNAME / _PASSWORD to test the dashboards step too.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from tests.cloud.prerequisites import missing, skip_reason

ROOT = Path(__file__).resolve().parents[2]
NAMESPACE = "ecommerce-analytics"
GAPS = missing()

# CLOUD_E2E_REQUIRED=1 (the cloud-e2e workflow) turns the skip into a failure: there a
# missing secret must fail the run, not pass it.
REQUIRED = os.environ.get("CLOUD_E2E_REQUIRED") == "1"

pytestmark = [pytest.mark.cloud, pytest.mark.skipif(bool(GAPS) and not REQUIRED, reason=skip_reason(GAPS))]


def _config(token: str) -> dict[str, tuple[str, bool]]:
    """(value, secret) per key, from the environment."""
    region = os.environ.get("AWS_REGION") or os.environ["AWS_DEFAULT_REGION"]
    config = {
        "aws:region": (region, False),
        f"{NAMESPACE}:snowflakeAccountRegion": (region, False),
        f"{NAMESPACE}:forceDestroy": ("true", False),
        # Unique Snowflake names: runs never collide with each other or a real stack.
        f"{NAMESPACE}:snowflakeNamePrefix": (f"E2E_{token.upper()}", False),
    }
    if os.environ.get("SNOWFLAKE_ROLE"):
        config[f"{NAMESPACE}:snowflakeAdminRole"] = (os.environ["SNOWFLAKE_ROLE"], False)
    if os.environ.get("CLOUD_E2E_SUPERSET_URL"):
        from local_stack.stack import throwaway_key_pair

        public, private = throwaway_key_pair()
        config.update({
            f"{NAMESPACE}:supersetUrl": (os.environ["CLOUD_E2E_SUPERSET_URL"], False),
            f"{NAMESPACE}:supersetUsername": (os.environ.get("CLOUD_E2E_SUPERSET_USERNAME", "admin"), False),
            f"{NAMESPACE}:supersetPassword": (os.environ["CLOUD_E2E_SUPERSET_PASSWORD"], True),
            f"{NAMESPACE}:dashboardUserPublicKey": (public, False),
            f"{NAMESPACE}:dashboardUserPrivateKey": (private, True),
        })  # fmt: skip
    return config


def test_preview_up_smoke_refresh_preview_destroy() -> None:
    if GAPS:
        pytest.fail(skip_reason(GAPS) + " (CLOUD_E2E_REQUIRED=1)")
    from pulumi import automation as auto
    from rich.console import Console

    from smoke import checks, report
    from smoke.cloud_target import target_from_outputs

    token = uuid.uuid4().hex[:8]
    # PULUMI_ORG: the stack lives in that organisation (CI); else the login's default.
    org = os.environ.get("PULUMI_ORG")
    name = f"{org}/e2e-{token}" if org else f"e2e-{token}"
    stack = auto.create_stack(stack_name=name, work_dir=str(ROOT))
    try:
        stack.set_all_config({k: auto.ConfigValue(value=v, secret=s) for k, (v, s) in _config(token).items()})
        # What a pull request and the first half of `pulumi up` run; the automation API's up skips it
        # (pulumi/automation/_stack.py passes --skip-preview).
        stack.preview(on_output=print, color="never")
        up = stack.up(on_output=print, color="never")
        outputs = {k: v.value for k, v in up.outputs.items()}
        config = {k: v.value for k, v in stack.get_all_config().items()}

        run = checks.run(target_from_outputs(name, outputs, config, timeout=300))
        report.print_run(run, Console(width=160))
        failure = run.failure
        assert failure is None, f"smoke failed at {failure.name}: {failure.detail}; {failure.finding}"

        # Refresh reads back what Snowflake changed on its own (the stream's change tracking); the
        # next preview raises CommandError if it wants to change anything.
        stack.refresh(on_output=print, color="never")
        stack.preview(expect_no_changes=True, on_output=print, color="never")
    finally:
        try:
            stack.destroy(on_output=print, color="never")
        finally:
            stack.workspace.remove_stack(name)
