"""The IAM side of a Snowflake integration: a role ARN known before the role exists, and the trust it needs.

Both integrations of the POC (storage: Snowflake reads the bucket; notification:
Snowflake publishes pipe errors) break the same cycle the same way: the
integration needs the role's ARN, the role's trust needs the integration's IAM
user and external id. The ARN is built from the account id and a fixed role
name, so the integration can be created first and the role after it.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws


def role_arn_before_the_role(parent: pulumi.Resource, role_name: str) -> pulumi.Output[str]:
    """arn:<partition>:iam::<account>:role/<role_name>, from the caller's account."""
    invoke = pulumi.InvokeOutputOptions(parent=parent)
    caller = aws.get_caller_identity_output(opts=invoke)
    partition = aws.get_partition_output(opts=invoke)
    return pulumi.Output.concat("arn:", partition.partition, ":iam::", caller.account_id, ":role/", role_name)


def trust_policy(statement_id: str, snowflake_user_arn: str, external_id: str) -> str:
    """Only the integration's IAM user may assume the role, and only with its external id."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": statement_id,
                    "Effect": "Allow",
                    "Principal": {"AWS": snowflake_user_arn},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
                }
            ],
        }
    )
