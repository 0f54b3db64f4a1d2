"""Streaming ingestion: a Snowpipe Streaming PIPE and the key-pair service user that may append to it.

Producers call the Snowpipe Streaming REST API (high-performance
architecture): rows go straight into ECOMMERCE_EVENTS through the pipe's
SELECT, with no bucket, stage or warehouse in between.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_snowflake as snowflake

from infra import sql_source
from infra.analytics_database import AnalyticsDatabase
from infra.event_tables import EventTables

# "Calling the Snowpipe Streaming API requires a role with the following
# privileges": USAGE on the database and schema, INSERT on the table, OPERATE
# on a named pipe (docs.snowflake.com, user-guide/snowpipe-streaming/
# snowpipe-streaming-access-control). Nothing more: no OWNERSHIP, no
# warehouse (the service is serverless), no SELECT.
STREAMING_PRIVILEGES = {
    "DATABASE": ("USAGE",),
    "SCHEMA": ("USAGE",),
    "TABLE": ("INSERT",),
    "PIPE": ("OPERATE",),
}


@dataclass(kw_only=True)
class StreamingIngestionArgs:
    database: AnalyticsDatabase
    """Database and schema of the pipe."""
    tables: EventTables
    """The tables; the pipe loads the one its COPY in sql/snowflake_streaming_pipe.sql names."""
    role_name: str
    """Account role holding exactly the streaming API's privileges on the pipe."""
    user_name: str
    """Service user the streaming producer logs in as (key pair only)."""
    public_key: str
    """RSA public key of that user (base64 body)."""


class StreamingIngestion(pulumi.ComponentResource):
    """Depend on the component: the producer can append once the pipe, the user and its grants all exist."""

    pipe: pulumi.Output[str]
    pipe_name: pulumi.Output[str]
    role_name: pulumi.Output[str]
    user_name: pulumi.Output[str]
    copy_statement: str

    def __init__(self, name: str, args: StreamingIngestionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ecommerce:ingestion:StreamingIngestion", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        db = args.database
        target_name = sql_source.pipe_target_table(sql_source.STREAMING_PIPE_SQL)
        target_table = args.tables.tables.get(target_name)
        if target_table is None:
            raise sql_source.SqlSourceError(
                f"sql/{sql_source.STREAMING_PIPE_SQL} loads {target_name}, which sql/table_ddl.sql does not declare"
            )

        self.copy_statement = sql_source.streaming_pipe_copy_statement(db.path)
        pipe = snowflake.Pipe(
            f"{name}-pipe",
            database=db.database,
            schema=db.schema,
            name=sql_source.pipe_name(sql_source.STREAMING_PIPE_SQL),
            copy_statement=self.copy_statement,
            # Channels feed it, not S3 notifications.
            auto_ingest=False,
            comment=f"Declared in sql/{sql_source.STREAMING_PIPE_SQL}",
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[target_table],
                # The provider's Create is a plain CREATE PIPE and copy_statement
                # forces replacement (terraform-provider-snowflake pkg/resources/pipe.go):
                # the old pipe must go first. Its channels go with it; producers
                # reopen theirs and resend from their own last offset.
                delete_before_replace=True,
            ),
        )

        role = snowflake.AccountRole(
            f"{name}-role", name=args.role_name, comment="Snowpipe Streaming producer: append to one pipe", opts=child
        )
        schema_name = pulumi.Output.concat(db.database, ".", db.schema)
        targets = {
            "DATABASE": {"on_account_object": {"object_type": "DATABASE", "object_name": db.database}},
            "SCHEMA": {"on_schema": {"schema_name": schema_name}},
            "TABLE": {
                "on_schema_object": {
                    "object_type": "TABLE",
                    "object_name": pulumi.Output.concat(schema_name, ".", target_table.name),
                }
            },
            "PIPE": {
                "on_schema_object": {
                    "object_type": "PIPE",
                    "object_name": pulumi.Output.concat(schema_name, ".", pipe.name),
                }
            },
        }
        grants = [
            snowflake.GrantPrivilegesToAccountRole(
                f"{name}-{'-'.join(privileges).lower()}-{kind.lower()}",
                account_role_name=role.name,
                privileges=list(privileges),
                **targets[kind],
                opts=child,
            )
            for kind, privileges in STREAMING_PRIVILEGES.items()
        ]
        user = snowflake.ServiceUser(
            f"{name}-user",
            name=args.user_name,
            comment="Snowpipe Streaming producer; key-pair authentication only",
            default_role=role.name,
            rsa_public_key=args.public_key,
            opts=child,
        )
        membership = snowflake.GrantAccountRole(
            f"{name}-user-role", role_name=role.name, user_name=user.name, opts=child
        )

        self.pipe = pipe.fully_qualified_name
        self.pipe_name = pipe.name
        self.role_name = role.name
        self.user_name = user.name
        self.register_outputs(
            {
                "pipe": self.pipe,
                "role": role.name,
                "user": user.name,
                "grants": [g.id for g in grants],
                "membership": membership.id,
            }
        )
