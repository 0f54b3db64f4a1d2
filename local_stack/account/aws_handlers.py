"""AWS resource types of the program, created in moto. One function per type, and one to delete it."""

from __future__ import annotations

import json
import secrets

from local_stack.account.context import Deleter, Handler, LocalContext, Outputs
from local_stack.errors import LocalDeployError
from local_stack.services.checkpoint import StateResource


def bucket(ctx: LocalContext, _name: str, inputs: Outputs) -> tuple[str, Outputs]:
    name = inputs.get("bucket") or f"{inputs.get('bucketPrefix', 'bucket-')}{secrets.token_hex(4)}"
    s3 = ctx.aws("s3")
    if ctx.region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": ctx.region})
    return name, {**inputs, "bucket": name, "arn": f"arn:aws:s3:::{name}", "region": ctx.region}


def bucket_versioning(ctx: LocalContext, _name: str, inputs: Outputs) -> tuple[str, Outputs]:
    status = inputs["versioningConfiguration"]["status"]
    ctx.aws("s3").put_bucket_versioning(Bucket=inputs["bucket"], VersioningConfiguration={"Status": status})
    return inputs["bucket"], inputs


def bucket_encryption(ctx: LocalContext, _name: str, inputs: Outputs) -> tuple[str, Outputs]:
    rules = [
        {
            "ApplyServerSideEncryptionByDefault": {
                "SSEAlgorithm": rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"]
            },
            "BucketKeyEnabled": bool(rule.get("bucketKeyEnabled")),
        }
        for rule in inputs["rules"]
    ]
    ctx.aws("s3").put_bucket_encryption(Bucket=inputs["bucket"], ServerSideEncryptionConfiguration={"Rules": rules})
    return inputs["bucket"], inputs


def bucket_public_access_block(ctx: LocalContext, _name: str, inputs: Outputs) -> tuple[str, Outputs]:
    ctx.aws("s3").put_public_access_block(
        Bucket=inputs["bucket"],
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": inputs["blockPublicAcls"],
            "IgnorePublicAcls": inputs["ignorePublicAcls"],
            "BlockPublicPolicy": inputs["blockPublicPolicy"],
            "RestrictPublicBuckets": inputs["restrictPublicBuckets"],
        },
    )
    return inputs["bucket"], inputs


def bucket_policy(ctx: LocalContext, name: str, inputs: Outputs) -> tuple[str, Outputs]:
    # Checked and recorded, not applied: moto 5.2.5 evaluates a Deny on
    # aws:SecureTransport=false as unconditional and then refuses every
    # request, over TLS too. Real S3 enforces it; tests check the document.
    document = json.loads(inputs["policy"])
    if not document.get("Statement"):
        raise LocalDeployError(f"bucket policy {name} has no statements")
    ctx.record("aws:s3/bucketPolicy:BucketPolicy", name, inputs)
    return inputs["bucket"], inputs


def bucket_notification(ctx: LocalContext, _name: str, inputs: Outputs) -> tuple[str, Outputs]:
    queues = [
        {
            "Id": queue.get("id") or f"queue-{index}",
            "QueueArn": queue["queueArn"],
            "Events": queue["events"],
            **(
                {"Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": queue["filterPrefix"]}]}}}
                if queue.get("filterPrefix")
                else {}
            ),
        }
        for index, queue in enumerate(inputs.get("queues") or [])
    ]
    ctx.aws("s3").put_bucket_notification_configuration(
        Bucket=inputs["bucket"], NotificationConfiguration={"QueueConfigurations": queues}
    )
    return inputs["bucket"], inputs


def iam_role(ctx: LocalContext, _name: str, inputs: Outputs) -> tuple[str, Outputs]:
    role = ctx.aws("iam").create_role(
        RoleName=inputs["name"],
        AssumeRolePolicyDocument=inputs["assumeRolePolicy"],
        Description=inputs.get("description", ""),
        MaxSessionDuration=int(inputs.get("maxSessionDuration", 3600)),
    )["Role"]
    return role["RoleName"], {**inputs, "arn": role["Arn"], "uniqueId": role["RoleId"]}


def iam_role_policy(ctx: LocalContext, name: str, inputs: Outputs) -> tuple[str, Outputs]:
    policy_name = inputs.get("name") or name
    ctx.aws("iam").put_role_policy(RoleName=inputs["role"], PolicyName=policy_name, PolicyDocument=inputs["policy"])
    return f"{inputs['role']}:{policy_name}", {**inputs, "name": policy_name}


def sns_topic(ctx: LocalContext, name: str, inputs: Outputs) -> tuple[str, Outputs]:
    # Pulumi auto-names a topic from its resource name plus a random suffix.
    topic_name = inputs.get("name") or f"{name}-{secrets.token_hex(4)}"
    attributes = {"KmsMasterKeyId": inputs["kmsMasterKeyId"]} if inputs.get("kmsMasterKeyId") else {}
    arn = ctx.aws("sns").create_topic(Name=topic_name, Attributes=attributes)["TopicArn"]
    return arn, {**inputs, "name": topic_name, "arn": arn}


def _existing_topic(ctx: LocalContext, arn: str, what: str) -> None:
    sns = ctx.aws("sns")
    try:
        sns.get_topic_attributes(TopicArn=arn)
    except sns.exceptions.NotFoundException as err:
        raise LocalDeployError(f"{what}: SNS topic {arn} does not exist") from err


def sns_topic_policy(ctx: LocalContext, name: str, inputs: Outputs) -> tuple[str, Outputs]:
    _existing_topic(ctx, inputs["arn"], f"topic policy {name}")
    # SNS refuses a policy naming a principal that does not exist
    # ("Invalid parameter: Policy Error: PrincipalNotFound"); moto does not check.
    iam = ctx.aws("iam")
    for statement in json.loads(inputs["policy"])["Statement"]:
        principals = (statement.get("Principal") or {}).get("AWS", [])
        for principal in [principals] if isinstance(principals, str) else principals:
            if ":role/" in principal:
                try:
                    iam.get_role(RoleName=principal.rsplit("/", 1)[-1])
                except iam.exceptions.NoSuchEntityException as err:
                    raise LocalDeployError(f"topic policy {name}: principal {principal} does not exist") from err
    ctx.aws("sns").set_topic_attributes(TopicArn=inputs["arn"], AttributeName="Policy", AttributeValue=inputs["policy"])
    return inputs["arn"], inputs


def sns_topic_subscription(ctx: LocalContext, name: str, inputs: Outputs) -> tuple[str, Outputs]:
    _existing_topic(ctx, inputs["topic"], f"subscription {name}")
    subscription = ctx.aws("sns").subscribe(
        TopicArn=inputs["topic"], Protocol=inputs["protocol"], Endpoint=inputs["endpoint"], ReturnSubscriptionArn=True
    )
    arn = subscription["SubscriptionArn"]
    return arn, {**inputs, "arn": arn}


HANDLERS: dict[str, Handler] = {
    "aws:s3/bucket:Bucket": bucket,
    "aws:s3/bucketVersioning:BucketVersioning": bucket_versioning,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": bucket_encryption,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": bucket_public_access_block,
    "aws:s3/bucketPolicy:BucketPolicy": bucket_policy,
    "aws:s3/bucketNotification:BucketNotification": bucket_notification,
    "aws:iam/role:Role": iam_role,
    "aws:iam/rolePolicy:RolePolicy": iam_role_policy,
    "aws:sns/topic:Topic": sns_topic,
    "aws:sns/topicPolicy:TopicPolicy": sns_topic_policy,
    "aws:sns/topicSubscription:TopicSubscription": sns_topic_subscription,
}


# ---------------------------------------------------------------- destroy


def delete_bucket(ctx: LocalContext, resource: StateResource) -> None:
    """S3 refuses to delete a non-empty bucket; force_destroy first deletes every object version.

    Same rule as the AWS provider's bucket delete (BucketNotEmpty unless force_destroy).
    """
    s3 = ctx.aws("s3")
    name = resource.id
    if resource.inputs.get("forceDestroy"):
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
            doomed = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
            ]
            if doomed:
                s3.delete_objects(Bucket=name, Delete={"Objects": doomed, "Quiet": True})
    try:
        s3.delete_bucket(Bucket=name)
    except s3.exceptions.ClientError as err:
        if err.response["Error"]["Code"] != "BucketNotEmpty":
            raise
        raise LocalDeployError(
            f"BucketNotEmpty: bucket {name} still holds event files and forceDestroy is false, so it is kept "
            "with its raw data. Empty it yourself, or set forceDestroy true (`pulumi config set "
            "ecommerce-analytics:forceDestroy true && pulumi up`) and destroy again"
        ) from err


def suspend_versioning(ctx: LocalContext, resource: StateResource) -> None:
    # Versioning cannot be switched off once on: deleting the resource suspends it (AWS provider behaviour).
    ctx.aws("s3").put_bucket_versioning(Bucket=resource.id, VersioningConfiguration={"Status": "Suspended"})


def delete_bucket_encryption(ctx: LocalContext, resource: StateResource) -> None:
    ctx.aws("s3").delete_bucket_encryption(Bucket=resource.id)


def delete_public_access_block(ctx: LocalContext, resource: StateResource) -> None:
    ctx.aws("s3").delete_public_access_block(Bucket=resource.id)


def forget_bucket_policy(ctx: LocalContext, resource: StateResource) -> None:
    ctx.forget("aws:s3/bucketPolicy:BucketPolicy", resource.name)


def clear_bucket_notification(ctx: LocalContext, resource: StateResource) -> None:
    ctx.aws("s3").put_bucket_notification_configuration(Bucket=resource.id, NotificationConfiguration={})


def delete_iam_role(ctx: LocalContext, resource: StateResource) -> None:
    ctx.aws("iam").delete_role(RoleName=resource.id)


def delete_iam_role_policy(ctx: LocalContext, resource: StateResource) -> None:
    ctx.aws("iam").delete_role_policy(RoleName=resource.inputs["role"], PolicyName=resource.outputs["name"])


def delete_sns_topic(ctx: LocalContext, resource: StateResource) -> None:
    ctx.aws("sns").delete_topic(TopicArn=resource.id)


def reset_sns_topic_policy(ctx: LocalContext, resource: StateResource) -> None:
    """Deleting a TopicPolicy puts back SNS's default owner-only policy (AWS provider behaviour)."""
    sns = ctx.aws("sns")
    arn = resource.inputs["arn"]
    try:
        owner = sns.get_topic_attributes(TopicArn=arn)["Attributes"]["Owner"]
    except sns.exceptions.NotFoundException:
        return  # the topic went first: nothing holds the policy any more
    # The default access policy of a new topic (AWS docs, "Amazon SNS access control", default policy).
    default = {
        "Version": "2008-10-17",
        "Id": "__default_policy_ID",
        "Statement": [
            {
                "Sid": "__default_statement_ID",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": [
                    "SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission",
                    "SNS:RemovePermission", "SNS:DeleteTopic", "SNS:Subscribe",
                    "SNS:ListSubscriptionsByTopic", "SNS:Publish",
                ],
                "Resource": arn,
                "Condition": {"StringEquals": {"AWS:SourceOwner": owner}},
            }
        ],
    }  # fmt: skip
    sns.set_topic_attributes(TopicArn=arn, AttributeName="Policy", AttributeValue=json.dumps(default))


def delete_sns_subscription(ctx: LocalContext, resource: StateResource) -> None:
    ctx.aws("sns").unsubscribe(SubscriptionArn=resource.id)


DELETERS: dict[str, Deleter] = {
    "aws:s3/bucket:Bucket": delete_bucket,
    "aws:s3/bucketVersioning:BucketVersioning": suspend_versioning,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": delete_bucket_encryption,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": delete_public_access_block,
    "aws:s3/bucketPolicy:BucketPolicy": forget_bucket_policy,
    "aws:s3/bucketNotification:BucketNotification": clear_bucket_notification,
    "aws:iam/role:Role": delete_iam_role,
    "aws:iam/rolePolicy:RolePolicy": delete_iam_role_policy,
    "aws:sns/topic:Topic": delete_sns_topic,
    "aws:sns/topicPolicy:TopicPolicy": reset_sns_topic_policy,
    "aws:sns/topicSubscription:TopicSubscription": delete_sns_subscription,
}
