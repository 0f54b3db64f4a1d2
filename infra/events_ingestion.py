"""Ingestion: file format, external stage, Snowpipe and the S3 notification that feeds it."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_snowflake as snowflake

from infra import sql_source
from infra.error_notifications import ErrorNotifications
from infra.raw_events_bucket import RawEventsBucket
from infra.snowflake_access import SnowflakeS3Access

STAGE_NAME = "EVENTS_STAGE"
FILE_FORMAT_NAME = "JSON_EVENTS"


@dataclass
class EventsIngestionArgs:
    bucket: RawEventsBucket
    """The raw events bucket (its events prefix is what the stage reads)."""
    access: SnowflakeS3Access
    """Storage integration and the IAM role it assumes."""
    database: pulumi.Input[str]
    """Database of the stage, file format and pipe."""
    schema: pulumi.Input[str]
    """Schema of the stage, file format and pipe."""
    namespace: sql_source.Namespace
    """Database and schema names, for the pipe's COPY statement."""
    target_table: snowflake.Table
    """The table the pipe's COPY loads into."""
    errors: ErrorNotifications
    """Where the pipe reports every file it skips (its ERROR_INTEGRATION)."""
    snowflake_provider: snowflake.Provider
    """Provider the Snowflake resources are created with."""


class EventsIngestion(pulumi.ComponentResource):
    stage: pulumi.Output[str]
    pipe: pulumi.Output[str]
    notification_channel: pulumi.Output[str]
    copy_statement: str

    def __init__(
        self,
        name: str,
        args: EventsIngestionArgs,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("ecommerce:ingestion:EventsIngestion", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.snowflake_provider)

        # NDJSON, gzip or plain (COMPRESSION = AUTO detects it per file).
        file_format = snowflake.FileFormatJson(
            f"{name}-json",
            database=args.database,
            schema=args.schema,
            name=FILE_FORMAT_NAME,
            compression="AUTO",
            comment="Raw events: one JSON object per line",
            opts=child,
        )
        stage = snowflake.StageExternalS3(
            f"{name}-stage",
            database=args.database,
            schema=args.schema,
            name=STAGE_NAME,
            url=args.bucket.events_url,
            storage_integration=args.access.integration_name,
            file_format=snowflake.StageExternalS3FileFormatArgs(format_name=args.namespace.qualify(FILE_FORMAT_NAME)),
            comment="Raw event files under the bucket's events prefix",
            # Snowflake assumes the IAM role when the stage is created.
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=args.snowflake_provider,
                depends_on=[args.access.ready, file_format],
            ),
        )
        self.copy_statement = sql_source.pipe_copy_statement(args.namespace, STAGE_NAME, FILE_FORMAT_NAME)
        pipe = snowflake.Pipe(
            f"{name}-pipe",
            database=args.database,
            schema=args.schema,
            name=sql_source.pipe_name(),
            copy_statement=self.copy_statement,
            auto_ingest=True,
            error_integration=args.errors.integration_name,
            comment="Declared in sql/snowflake_pipe.sql",
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=args.snowflake_provider,
                depends_on=[stage, args.target_table, args.errors.ready],
                # A re-created stage or integration leaves the old pipe
                # STOPPED_STAGE_DROPPED: re-create the pipe with them.
                replace_with=[stage, args.access.integration],
            ),
        )
        # The wire that makes it real-time. A bucket has exactly one
        # notification configuration: this resource owns it.
        aws.s3.BucketNotification(
            f"{name}-notification",
            bucket=args.bucket.bucket,
            queues=[
                aws.s3.BucketNotificationQueueArgs(
                    id="snowpipe-auto-ingest",
                    queue_arn=pipe.notification_channel,
                    events=["s3:ObjectCreated:*"],
                    filter_prefix=args.bucket.events_prefix,
                )
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.stage = stage.fully_qualified_name
        self.pipe = pipe.fully_qualified_name
        self.notification_channel = pipe.notification_channel
        self.register_outputs(
            {
                "stage": self.stage,
                "pipe": self.pipe,
                "notification_channel": self.notification_channel,
            }
        )
