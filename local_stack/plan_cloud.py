"""A dry run of the program for the policy gate: no emulator is touched.

Like `pulumi preview`, it answers every registration with the resource's
inputs plus placeholder values for what the cloud would compute (ARNs, the
integrations' IAM users, the pipe's queue), so the policy checks see the
whole graph before the local deploy creates anything. The placeholders only
have to be consistent within one plan. Dynamic resources that compute
locally (the external id, the IAM wait) run as they would; ones that call a
service (the Superset import) do not.
"""

from __future__ import annotations

import pulumi

from local_stack import dynamic_resources

PLAN_ACCOUNT = "000000000000"
PLAN_REGION = "us-east-1"
# Python dynamic resources without a module of their own register as this;
# the Superset import registers under its own module (pulumi-python:dynamic/superset:...).
LOCAL_DYNAMIC = "pulumi-python:dynamic:Resource"


class PlanCloud(pulumi.runtime.Mocks):
    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": PLAN_ACCOUNT, "arn": f"arn:aws:iam::{PLAN_ACCOUNT}:user/plan", "id": PLAN_ACCOUNT}, []
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}, []
        raise NotImplementedError(f"the policy dry run has no answer for invoke {args.token}")

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        if not args.custom:
            return "", {}
        inputs = dict(args.inputs)
        if args.typ == LOCAL_DYNAMIC:
            return dynamic_resources.create(inputs)
        outputs = {**inputs, **_computed(args.typ, args.name, inputs)}
        # An S3 bucket's id is its name, as in pulumi-aws.
        # An account object's id is its name (terraform-provider-snowflake helpers.EncodeResourceIdentifier).
        account_object = args.typ.startswith("snowflake:") and "name" in inputs and "database" not in inputs
        resource_id = (
            outputs["bucket"]
            if args.typ == "aws:s3/bucket:Bucket"
            else inputs["name"]
            if account_object
            else f"{args.name}-planned"
        )
        return resource_id, outputs


def _computed(typ: str, name: str, inputs: dict) -> dict:
    planned_user = f"arn:aws:iam::{PLAN_ACCOUNT}:user/snowflake-{name}"
    if typ == "aws:s3/bucket:Bucket":
        bucket = inputs.get("bucket") or f"{inputs.get('bucketPrefix', '')}{name}-planned"
        return {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}"}
    if typ == "aws:iam/role:Role":
        return {"arn": f"arn:aws:iam::{PLAN_ACCOUNT}:role/{inputs['name']}"}
    if typ == "aws:sns/topic:Topic":
        topic = inputs.get("name") or f"{name}-planned"
        return {"name": topic, "arn": f"arn:aws:sns:{PLAN_REGION}:{PLAN_ACCOUNT}:{topic}"}
    if typ == "snowflake:index/storageIntegrationAws:StorageIntegrationAws":
        return {"describeOutputs": [{"iamUserArn": planned_user, "externalId": inputs.get("storageAwsExternalId")}]}
    if typ == "snowflake:index/notificationIntegration:NotificationIntegration":
        return {"awsSnsIamUserArn": planned_user, "awsSnsExternalId": f"{name}-planned-external-id"}
    if typ == "snowflake:index/pipe:Pipe":
        return {"notificationChannel": f"arn:aws:sqs:{PLAN_REGION}:{PLAN_ACCOUNT}:sf-snowpipe-{inputs['name']}"}
    return {}
