"""Ingestion: file format, external stage, Snowpipe and the S3 notification that feeds it."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_snowflake as snowflake

from infra import sql_source
from infra.analytics_database import AnalyticsDatabase
from infra.error_notifications import ErrorNotifications
from infra.event_tables import EventTables
from infra.raw_events_bucket import RawEventsBucket
from infra.snowflake_access import SnowflakeS3Access

STAGE_NAME = "EVENTS_STAGE"
FILE_FORMAT_NAME = "JSON_EVENTS"


@dataclass(kw_only=True)
class EventsIngestionArgs:
    bucket: RawEventsBucket
    """The raw events bucket (its events prefix is what the stage reads)."""
    access: SnowflakeS3Access
    """Storage integration and the IAM role it assumes."""
    database: AnalyticsDatabase
    """Database and schema of the stage, file format and pipe."""
    tables: EventTables
    """The tables; the pipe loads the one its COPY in sql/snowflake_pipe.sql names."""
    errors: ErrorNotifications
    """Where the pipe reports every file it skips (its ERROR_INTEGRATION)."""


class EventsIngestion(pulumi.ComponentResource):
    stage: pulumi.Output[str]
    pipe: pulumi.Output[str]
    notification_channel: pulumi.Output[str]
    copy_statement: str

    def __init__(self, name: str, args: EventsIngestionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ecommerce:ingestion:EventsIngestion", name, None, opts)
        db = args.database
        target_name = sql_source.pipe_target_table()
        target_table = args.tables.tables.get(target_name)
        if target_table is None:
            raise sql_source.SqlSourceError(
                f"sql/snowflake_pipe.sql loads {target_name}, which sql/table_ddl.sql does not declare"
            )

        # NDJSON, gzip or plain (COMPRESSION = AUTO detects it per file).
        file_format = snowflake.FileFormatJson(
            f"{name}-json",
            database=db.database,
            schema=db.schema,
            name=FILE_FORMAT_NAME,
            compression="AUTO",
            comment="Raw events: one JSON object per line",
            opts=pulumi.ResourceOptions(parent=self),
        )
        stage = snowflake.StageExternalS3(
            f"{name}-stage",
            database=db.database,
            schema=db.schema,
            name=STAGE_NAME,
            url=args.bucket.events_url,
            storage_integration=args.access.integration_name,
            # The format's own fully qualified name, as the provider's docs
            # pass it: no second spelling of the name to drift from what
            # Snowflake reports back.
            file_format=snowflake.StageExternalS3FileFormatArgs(format_name=file_format.fully_qualified_name),
            comment="Raw event files under the bucket's events prefix",
            # Snowflake assumes the IAM role when the stage is created: wait
            # for the whole access component (role, policy, propagation).
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.access]),
        )
        self.copy_statement = sql_source.pipe_copy_statement(db.path, STAGE_NAME, FILE_FORMAT_NAME)
        pipe = snowflake.Pipe(
            f"{name}-pipe",
            database=db.database,
            schema=db.schema,
            name=sql_source.pipe_name(),
            copy_statement=self.copy_statement,
            auto_ingest=True,
            error_integration=args.errors.integration_name,
            comment="Declared in sql/snowflake_pipe.sql",
            opts=pulumi.ResourceOptions(
                parent=self,
                # The errors component includes the wait for IAM to know its role.
                depends_on=[stage, file_format, target_table, args.errors],
                # A re-created stage or integration leaves the old pipe
                # STOPPED_STAGE_DROPPED: re-create the pipe with them.
                replace_with=[stage, args.access.integration],
                # A replacement the engine forces (replace_with, `--replace`) is
                # create-before-delete, and the provider's Create is a plain
                # CREATE PIPE (terraform-provider-snowflake pkg/resources/pipe.go):
                # the new pipe would collide with the old one's name. Dropped
                # first, a file landing in between is not announced to the new
                # pipe; `ALTER PIPE ... REFRESH` loads it (docs/real-deployment.md).
                delete_before_replace=True,
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
            {"stage": self.stage, "pipe": self.pipe, "notification_channel": self.notification_channel}
        )
