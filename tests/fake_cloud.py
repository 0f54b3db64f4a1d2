"""The tests' made-up AWS + Snowflake: the planned cloud (local_stack/engine/planned_cloud.py) with fixed answers.

Fixed account, integration users and external ids, so tests can compare the
graph with literals; the IAM wait is answered at once (a made-up IAM has
nothing to propagate) and recorded; the Superset import runs for real against
supersetUrl (tests point it at tests/fake_superset.py).
"""

from __future__ import annotations

from infra.wire_format import reveal
from local_stack.account import dynamic_resources
from local_stack.engine.planned_cloud import PlannedCloud

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
SNOWFLAKE_IAM_USER_ARN = "arn:aws:iam::999988887777:user/snowflake-abc123"
# A notification integration reports its own IAM user and external id
# (DESC NOTIFICATION INTEGRATION: SF_AWS_IAM_USER_ARN, SF_AWS_EXTERNAL_ID).
SNOWFLAKE_SNS_USER_ARN = "arn:aws:iam::999988887777:user/snowflake-sns-def456"
SNOWFLAKE_SNS_EXTERNAL_ID = "ABC12345_SFCRole=2_snsExternalIdFromSnowflake="
SUPERSET_IMPORT = "pulumi-python:dynamic/superset:AssetsImport"


class FakeCloud(PlannedCloud):
    account_id = ACCOUNT_ID
    region = REGION
    snowflake_aws_account = "999988887777"
    suffix = "1a2b3c"

    def __init__(self) -> None:
        self.iam_waits: list[int] = []
        """Seconds each IAM propagation wait asked for."""

    def dynamic(self, typ: str, name: str, inputs: dict):
        if dynamic_resources.provider_module(inputs) == "infra.iam_propagation":
            self.iam_waits.append(int(reveal(inputs["seconds"])))
            return f"{name}-id", inputs
        return dynamic_resources.create(inputs)

    def storage_integration_user(self, name: str) -> str:
        return SNOWFLAKE_IAM_USER_ARN

    def sns_integration(self, name: str) -> tuple[str, str]:
        return SNOWFLAKE_SNS_USER_ARN, SNOWFLAKE_SNS_EXTERNAL_ID
