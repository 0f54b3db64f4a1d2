"""A made-up AWS + Snowflake for evaluating the program under the mock runtime.

It answers like the real services do where the program relies on it:
computed ARNs, the storage integration's IAM user and external id, the
pipe's SQS notification channel, fully qualified names.
"""

from __future__ import annotations

import base64

import dill
import pulumi

from infra.wire_format import reveal
from local_stack import dynamic_resources

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
SNOWFLAKE_IAM_USER_ARN = "arn:aws:iam::999988887777:user/snowflake-abc123"
# A notification integration reports its own IAM user and external id
# (DESC NOTIFICATION INTEGRATION: SF_AWS_IAM_USER_ARN, SF_AWS_EXTERNAL_ID).
SNOWFLAKE_SNS_USER_ARN = "arn:aws:iam::999988887777:user/snowflake-sns-def456"
SNOWFLAKE_SNS_EXTERNAL_ID = "ABC12345_SFCRole=2_snsExternalIdFromSnowflake="
SUPERSET_IMPORT = "pulumi-python:dynamic/superset:AssetsImport"


class FakeCloud(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.iam_waits: list[int] = []
        """Seconds each IAM propagation wait asked for: answered at once, a made-up IAM has nothing to propagate."""

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT_ID,
                "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/deployer",
                "id": ACCOUNT_ID,
            }, []
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}, []
        raise NotImplementedError(f"FakeCloud has no answer for invoke {args.token}")

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        if not args.custom:
            return "", {}
        inputs = dict(args.inputs)
        # Python dynamic resources register as pulumi-python:dynamic[/module:Name].
        if args.typ.startswith("pulumi-python:dynamic"):
            provider = dill.loads(base64.b64decode(reveal(inputs[dynamic_resources.PROVIDER_KEY])))
            if type(provider).__module__ == "infra.iam_propagation":
                # A real wait would sleep iamPropagationSeconds in every test run.
                self.iam_waits.append(int(reveal(inputs["seconds"])))
                return f"{args.name}-id", inputs
            # The others run for real: the external id computes locally, the Superset import
            # talks HTTP to supersetUrl (tests point it at tests/fake_superset.py).
            return dynamic_resources.create(inputs)
        outputs = {**inputs, **self._computed(args.typ, args.name, inputs)}
        if args.typ == "aws:s3/bucket:Bucket":
            # A bucket's id is its name (pulumi-aws: `pulumi import aws:s3/bucket:Bucket x <bucket-name>`).
            return outputs["bucket"], outputs
        if args.typ.startswith("snowflake:") and "name" in inputs and "database" not in inputs:
            # An account object's id is its name (terraform-provider-snowflake helpers.EncodeResourceIdentifier).
            return inputs["name"], outputs
        return f"{args.name}-id", outputs

    def _computed(self, typ: str, name: str, inputs: dict) -> dict:
        if typ == "aws:s3/bucket:Bucket":
            bucket = inputs.get("bucket") or f"{inputs.get('bucketPrefix', '')}{name}-1a2b3c"
            return {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}"}
        if typ == "aws:iam/role:Role":
            return {"arn": f"arn:aws:iam::{ACCOUNT_ID}:role/{inputs['name']}"}
        if typ == "snowflake:index/storageIntegrationAws:StorageIntegrationAws":
            return {
                "describeOutputs": [
                    {
                        "iamUserArn": SNOWFLAKE_IAM_USER_ARN,
                        "externalId": inputs.get("storageAwsExternalId"),
                    }
                ]
            }
        if typ == "aws:sns/topic:Topic":
            topic = inputs.get("name") or f"{name}-7e8f9a"
            return {"name": topic, "arn": f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{topic}"}
        if typ == "aws:sns/topicSubscription:TopicSubscription":
            return {"arn": f"{inputs['topic']}:5c1d2e3f", "pendingConfirmation": inputs.get("protocol") == "email"}
        if typ == "snowflake:index/notificationIntegration:NotificationIntegration":
            return {"awsSnsIamUserArn": SNOWFLAKE_SNS_USER_ARN, "awsSnsExternalId": SNOWFLAKE_SNS_EXTERNAL_ID}
        if typ == "snowflake:index/pipe:Pipe":
            return {
                "notificationChannel": f"arn:aws:sqs:{REGION}:999988887777:sf-snowpipe-AIDA-{inputs['name']}",
                "fullyQualifiedName": _fqn(inputs),
            }
        if typ.startswith("snowflake:") and "schema" in inputs and "name" in inputs:
            return {"fullyQualifiedName": _fqn(inputs)}
        return {}


def _fqn(inputs: dict) -> str:
    return f'"{inputs["database"]}"."{inputs["schema"]}"."{inputs["name"]}"'
