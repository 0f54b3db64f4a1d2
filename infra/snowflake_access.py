"""Snowflake's read access to the events prefix: storage integration ⇄ IAM role.

The integration needs the role's ARN and the role's trust policy needs the
integration's IAM user: a cycle that public examples break with a second
`pulumi up` or a hand-edited trust policy. Here it is one apply:
  1. the role ARN is computed from the account id and a fixed role name
     before the role exists, and given to the integration;
  2. the external id is ours (see external_id.py), given to the integration;
  3. the role is created afterwards, trusting the integration's IAM user ARN
     and requiring the external id, both read back from the integration.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_snowflake as snowflake

from infra.external_id import ExternalId
from infra.iam_propagation import IamPropagationWait
from infra.snowflake_trust import role_arn_before_the_role, trust_policy


@dataclass(kw_only=True)
class SnowflakeS3AccessArgs:
    bucket: pulumi.Input[str]
    """Name of the raw events bucket."""
    bucket_arn: pulumi.Input[str]
    """ARN of the raw events bucket."""
    events_prefix: str
    """The only folder Snowflake may read (ends with '/')."""
    integration_name: str
    """Account-level name of the storage integration."""
    role_name: str
    """Name of the IAM role Snowflake assumes."""
    propagation_seconds: int
    """Wait after the role is written, before Snowflake uses it."""


class SnowflakeS3Access(pulumi.ComponentResource):
    """Depend on the component before creating a stage: it includes the IAM propagation wait."""

    integration: snowflake.StorageIntegrationAws
    """A pipe is replaced with it (replace_with takes a resource)."""
    integration_name: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    external_id: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: SnowflakeS3AccessArgs,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("ecommerce:access:SnowflakeS3Access", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        role_arn = role_arn_before_the_role(self, args.role_name)
        external_id = ExternalId(f"{name}-external-id", prefix=args.integration_name.lower(), opts=child)
        events_url = pulumi.Output.concat("s3://", args.bucket, "/", args.events_prefix)

        integration = snowflake.StorageIntegrationAws(
            f"{name}-integration",
            name=args.integration_name,
            enabled=True,
            storage_provider="S3",
            storage_allowed_locations=[events_url],
            storage_aws_role_arn=role_arn,
            storage_aws_external_id=external_id.value,
            comment="Read access to the raw events prefix for the ecommerce POC",
            opts=child,
        )
        described = integration.describe_outputs.apply(_single_description)

        role = aws.iam.Role(
            f"{name}-role",
            name=args.role_name,
            description="Assumed by Snowflake's storage integration to read raw events",
            assume_role_policy=pulumi.Output.all(described.iam_user_arn, described.external_id).apply(
                lambda pair: _trust_policy(*pair)
            ),
            max_session_duration=3600,
            opts=child,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-read-events",
            role=role.name,
            policy=pulumi.Output.all(args.bucket_arn, args.events_prefix).apply(
                lambda pair: _read_events_policy(*pair)
            ),
            opts=child,
        )
        IamPropagationWait(
            f"{name}-iam-propagation",
            role_arn=role.arn,
            policy=policy.policy,
            seconds=args.propagation_seconds,
            opts=child,
        )

        self.integration_name = integration.name
        self.role_arn = role_arn
        self.external_id = external_id.value
        self.integration = integration
        self.register_outputs(
            {
                "integration_name": self.integration_name,
                "role_arn": role_arn,
                "external_id": external_id.value,
            }
        )


def _single_description(outputs):
    if not outputs:
        raise pulumi.RunError("the storage integration returned no describe_outputs (iam_user_arn, external_id)")
    return outputs[0]


def _trust_policy(snowflake_user_arn: str, external_id: str) -> str:
    return trust_policy("SnowflakeStorageIntegration", snowflake_user_arn, external_id)


def _read_events_policy(bucket_arn: str, events_prefix: str) -> str:
    """Read-only, on the events prefix only (Snowpipe never writes or deletes)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ReadEventFiles",
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                    "Resource": f"{bucket_arn}/{events_prefix}*",
                },
                {
                    "Sid": "ListEventFiles",
                    "Effect": "Allow",
                    "Action": "s3:ListBucket",
                    "Resource": bucket_arn,
                    "Condition": {"StringLike": {"s3:prefix": [f"{events_prefix}*"]}},
                },
                {
                    "Sid": "LocateBucket",
                    "Effect": "Allow",
                    "Action": "s3:GetBucketLocation",
                    "Resource": bucket_arn,
                },
            ],
        }
    )
