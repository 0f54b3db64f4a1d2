"""What the cloud would answer a registration with, without a cloud: the planned outputs of each resource type.

Used where no emulator is touched: the policy gate's dry run before a local
deploy (stack.check_policies) and, through a small subclass, the tests' made-up
cloud (tests/fake_cloud.py). Every registration answers with its inputs plus
the values the provider computes (ARNs, the integrations' IAM users and external
ids, the pipe's queue, fully qualified names); they only have to be consistent
within one run. Ids follow the providers: an S3 bucket's id is its name
(pulumi-aws import docs), a Snowflake account object's id its name
(terraform-provider-snowflake helpers.EncodeResourceIdentifier). Dynamic
resources that compute locally (the external id, the IAM wait) run as they
would; ones that call a service (the Superset import) do not.
"""

from __future__ import annotations

import pulumi

from local_stack.account import dynamic_resources

BUCKET = "aws:s3/bucket:Bucket"
# Python dynamic resources without a module of their own register as this;
# the Superset import registers under its own module (pulumi-python:dynamic/superset:...).
LOCAL_DYNAMIC = "pulumi-python:dynamic:Resource"


class PlannedCloud(pulumi.runtime.Mocks):
    account_id = "000000000000"
    region = "us-east-1"
    snowflake_aws_account = "000000000000"
    """The AWS account of Snowflake's own IAM users (DESC INTEGRATION: STORAGE_AWS_IAM_USER_ARN)."""
    suffix = "planned"

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            arn = f"arn:aws:iam::{self.account_id}:user/deployer"
            return {"accountId": self.account_id, "arn": arn, "id": self.account_id}, []
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}, []
        raise NotImplementedError(f"{type(self).__name__} has no answer for invoke {args.token}")

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        if not args.custom:
            return "", {}
        inputs = dict(args.inputs)
        if args.typ.startswith("pulumi-python:dynamic"):
            return self.dynamic(args.typ, args.name, inputs)
        outputs = {**inputs, **self.computed(args.typ, args.name, inputs)}
        if args.typ == BUCKET:
            return outputs["bucket"], outputs
        if args.typ.startswith("snowflake:") and "name" in inputs and "database" not in inputs:
            return inputs["name"], outputs
        return f"{args.name}-{self.suffix}", outputs

    def dynamic(self, typ: str, name: str, inputs: dict):
        if typ == LOCAL_DYNAMIC:
            return dynamic_resources.create(inputs)
        return f"{name}-{self.suffix}", inputs

    def storage_integration_user(self, name: str) -> str:
        return f"arn:aws:iam::{self.snowflake_aws_account}:user/snowflake-{name}"

    def sns_integration(self, name: str) -> tuple[str, str]:
        """(IAM user ARN, external id) of a notification integration (DESC NOTIFICATION INTEGRATION)."""
        return f"arn:aws:iam::{self.snowflake_aws_account}:user/snowflake-sns-{name}", f"{name}_SFCRole=planned"

    def computed(self, typ: str, name: str, inputs: dict) -> dict:
        if typ == BUCKET:
            bucket = inputs.get("bucket") or f"{inputs.get('bucketPrefix', '')}{name}-{self.suffix}"
            return {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}"}
        if typ == "aws:iam/role:Role":
            return {"arn": f"arn:aws:iam::{self.account_id}:role/{inputs['name']}"}
        if typ == "aws:sns/topic:Topic":
            topic = inputs.get("name") or f"{name}-{self.suffix}"
            return {"name": topic, "arn": f"arn:aws:sns:{self.region}:{self.account_id}:{topic}"}
        if typ == "aws:sns/topicSubscription:TopicSubscription":
            return {"arn": f"{inputs['topic']}:{self.suffix}", "pendingConfirmation": inputs.get("protocol") == "email"}
        if typ == "snowflake:index/storageIntegrationAws:StorageIntegrationAws":
            user = self.storage_integration_user(name)
            return {"describeOutputs": [{"iamUserArn": user, "externalId": inputs.get("storageAwsExternalId")}]}
        if typ == "snowflake:index/notificationIntegration:NotificationIntegration":
            user, external_id = self.sns_integration(name)
            return {"awsSnsIamUserArn": user, "awsSnsExternalId": external_id}
        if typ == "snowflake:index/pipe:Pipe":
            queue = f"arn:aws:sqs:{self.region}:{self.snowflake_aws_account}:sf-snowpipe-{inputs['name']}"
            return {"notificationChannel": queue, "fullyQualifiedName": _fqn(inputs)}
        if typ.startswith("snowflake:") and "schema" in inputs and "name" in inputs:
            return {"fullyQualifiedName": _fqn(inputs)}
        return {}


def _fqn(inputs: dict) -> str:
    return f'"{inputs["database"]}"."{inputs["schema"]}"."{inputs["name"]}"'
