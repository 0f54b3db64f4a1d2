"""Landing zone: the S3 bucket producers write raw event files to."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(kw_only=True)
class RawEventsBucketArgs:
    bucket_name: str | None
    """Exact bucket name, or None to let Pulumi generate a unique one."""
    events_prefix: str
    """Folder (ending in '/') that holds raw event files."""
    force_destroy: bool
    """Let `pulumi destroy` delete a bucket that still holds objects (POC stacks only)."""


class RawEventsBucket(pulumi.ComponentResource):
    """Versioned, encrypted, private bucket that only accepts TLS requests."""

    bucket: pulumi.Output[str]
    arn: pulumi.Output[str]
    events_prefix: str
    events_url: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: RawEventsBucketArgs,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("ecommerce:landing:RawEventsBucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket=args.bucket_name,
            bucket_prefix=None if args.bucket_name else "ecommerce-raw-events-",
            force_destroy=args.force_destroy,
            opts=child,
        )
        # Versioning keeps an overwritten or deleted event file recoverable:
        # raw data is the one thing this POC cannot recreate.
        aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket.id,
            versioning_configuration={"status": "Enabled"},
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.id,
            rules=[
                {
                    "apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"},
                    "bucket_key_enabled": True,
                }
            ],
            opts=child,
        )
        public_access = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketPolicy(
            f"{name}-tls-only",
            bucket=bucket.id,
            policy=bucket.arn.apply(_deny_insecure_transport),
            # S3 rejects policy writes that race the public access block.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access]),
        )

        self.bucket = bucket.bucket
        self.arn = bucket.arn
        self.events_prefix = args.events_prefix
        self.events_url = pulumi.Output.concat("s3://", bucket.bucket, "/", args.events_prefix)
        self.register_outputs({"bucket": self.bucket, "arn": self.arn, "events_url": self.events_url})


def _deny_insecure_transport(bucket_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket_arn, f"{bucket_arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )
