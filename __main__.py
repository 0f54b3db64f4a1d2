"""Real-time ecommerce analytics POC, as one Pulumi dependency graph.

    producers ──► raw events bucket (S3) ──notification──► Snowpipe ──► ECOMMERCE_EVENTS ──stream──► Snowpark task
                       ▲                                   │    │          PRODUCTS, CUSTOMERS (seeded)   │
        Snowflake access (integration ⇄ IAM role)          │    └─ skipped files ─► SNS (error notifications)
                                                           ▼                                              ▼
                              ENRICHED_EVENTS view, PIPE_LOAD_HISTORY view      SESSION_FUNNEL, PRODUCT_CONVERSION
                                                  └──────────► dashboard access ──► dashboards ◄──┘

With config `ingestion` = streaming or both, producers also append rows over
the Snowpipe Streaming REST API to a streaming pipe on ECOMMERCE_EVENTS
(infra/streaming_ingestion.py; docs/streaming.md). A resource monitor caps
the warehouse's monthly credits. The rules the graph must keep are policy/
(CrossGuard), checked on preview. Each statement below builds one box of that
drawing from the previous boxes.
"""

import pulumi

from infra.analytics_database import AnalyticsDatabase, AnalyticsDatabaseArgs
from infra.config import load_config
from infra.cost_guard import CostGuard, CostGuardArgs
from infra.credit_estimate import CreditEstimate, CreditEstimateArgs
from infra.dashboard_access import DashboardAccess, DashboardAccessArgs
from infra.dashboards import SupersetDashboards, SupersetDashboardsArgs
from infra.enriched_events import EnrichedEvents, EnrichedEventsArgs
from infra.error_notifications import ErrorNotifications, ErrorNotificationsArgs
from infra.event_tables import EventTables, EventTablesArgs
from infra.events_ingestion import EventsIngestion, EventsIngestionArgs
from infra.ingest_lag import IngestLag, IngestLagArgs
from infra.pipe_health import PipeHealth, PipeHealthArgs
from infra.raw_events_bucket import RawEventsBucket, RawEventsBucketArgs
from infra.reference_data import ReferenceData, ReferenceDataArgs
from infra.snowflake_access import SnowflakeS3Access, SnowflakeS3AccessArgs
from infra.snowflake_provider import admin_provider, warehouse_session_provider
from infra.snowpark_transformations import SnowparkTransformations, SnowparkTransformationsArgs
from infra.streaming_ingestion import StreamingIngestion, StreamingIngestionArgs
from infra.transformation_compute import TransformationCompute

config = load_config()  # stops here, before any resource, if the stack config is bad
admin = pulumi.ResourceOptions(providers=[admin_provider(role=config.snowflake_admin_role)])
# Raw data and tables cannot be recreated: production stacks protect them.
stateful = pulumi.ResourceOptions(protect=config.protect_stateful)

landing = RawEventsBucket(
    "raw-events",
    RawEventsBucketArgs(
        bucket_name=config.bucket_name, events_prefix=config.events_prefix, force_destroy=config.force_destroy
    ),
    opts=stateful,
)
access = SnowflakeS3Access(
    "snowflake-access",
    SnowflakeS3AccessArgs(
        bucket=landing.bucket,
        bucket_arn=landing.arn,
        events_prefix=config.events_prefix,
        integration_name=config.storage_integration,
        role_name=config.iam_role_name,
        propagation_seconds=config.iam_propagation_seconds,
    ),
    opts=admin,
)
cost_guard = CostGuard(
    "cost-guard",
    CostGuardArgs(
        monitor_name=config.resource_monitor,
        monthly_credit_quota=config.monthly_credit_quota,
        existing_warehouse=config.existing_warehouse,
    ),
    opts=admin,
)
database = AnalyticsDatabase(
    "analytics",
    AnalyticsDatabaseArgs(
        path=config.schema_path,
        warehouse=config.warehouse,
        warehouse_size=config.warehouse_size,
        resource_monitor=cost_guard.monitor_name,
        existing_warehouse=config.existing_warehouse,
    ),
    opts=admin,
)
# Statements that need a warehouse run in sessions of the POC warehouse (see infra/snowflake_provider.py).
warehouse_session = warehouse_session_provider(role=config.snowflake_admin_role, warehouse_id=database.warehouse_id)
on_warehouse = pulumi.ResourceOptions(providers=[warehouse_session])
tables = EventTables("tables", EventTablesArgs(database=database), opts=pulumi.ResourceOptions.merge(admin, stateful))
ReferenceData("reference-data", ReferenceDataArgs(tables=tables, path=config.schema_path), opts=on_warehouse)
if config.files_ingestion:
    errors = ErrorNotifications(
        "pipe-errors",
        ErrorNotificationsArgs(
            integration_name=config.error_integration,
            role_name=config.error_role_name,
            propagation_seconds=config.iam_propagation_seconds,
            email=config.error_notification_email,
        ),
        opts=admin,
    )
    ingestion = EventsIngestion(
        "ingestion",
        EventsIngestionArgs(bucket=landing, access=access, database=database, tables=tables, errors=errors),
        opts=admin,
    )
    pulumi.export("stage", ingestion.stage)
    pulumi.export("pipe", ingestion.pipe)
    pulumi.export("notification_channel", ingestion.notification_channel)
    pulumi.export("error_topic_arn", errors.topic_arn)
    pulumi.export("error_integration", errors.integration_name)
if config.streaming_ingestion:
    streaming = StreamingIngestion(
        "streaming-ingestion",
        StreamingIngestionArgs(
            database=database,
            tables=tables,
            role_name=config.streaming_role,
            user_name=config.streaming_user,
            public_key=config.streaming_user_public_key,
        ),
        opts=admin,
    )
    pulumi.export("streaming_pipe", streaming.pipe)
    pulumi.export("streaming_pipe_name", streaming.pipe_name)
    pulumi.export("streaming_user", streaming.user_name)
    pulumi.export("streaming_role", streaming.role_name)
enriched = EnrichedEvents("enriched-events", EnrichedEventsArgs(database=database, tables=tables), opts=on_warehouse)
dashboard_access = DashboardAccess(
    "dashboard-access",
    DashboardAccessArgs(
        database=database,
        view=enriched,
        role_name=config.dashboard_role,
        user_name=config.dashboard_user,
        public_key=config.dashboard_user_public_key,
    ),
    opts=admin,
)
# Result tables are state too: the stream's offset moves on once a refresh commits.
transformations = SnowparkTransformations(
    "transformations",
    SnowparkTransformationsArgs(
        database=database,
        tables=tables,
        readers=dashboard_access,
        warehouse_session=warehouse_session,
        compute=TransformationCompute.of(config),
    ),
    opts=pulumi.ResourceOptions.merge(admin, stateful),
)
health = PipeHealth(
    "pipe-health",
    PipeHealthArgs(database=database, tables=tables, readers=dashboard_access, warehouse_session=warehouse_session),
    opts=admin,
)
ingest_lag = IngestLag(
    "ingest-lag",
    IngestLagArgs(database=database, tables=tables, readers=dashboard_access, warehouse_session=warehouse_session),
    opts=admin,
)
# Read by the dashboard's cost chart; the local credit meter fills it (docs/cost.md).
credit_estimate = CreditEstimate(
    "credit-estimate",
    CreditEstimateArgs(database=database, readers=dashboard_access),
    opts=pulumi.ResourceOptions.merge(admin, stateful),
)
if config.superset is None:
    pulumi.log.warn(
        "supersetUrl is not set: the Superset dashboards step is left out. To import the dashboards, "
        "set ecommerce-analytics:supersetUrl (see docs/operations.md, 'Dashboards')"
    )
else:
    dashboards = SupersetDashboards(
        "dashboards",
        SupersetDashboardsArgs(
            superset_url=config.superset.url,
            superset_username=config.superset.username,
            superset_password=config.superset.password,
            snowflake_account=config.superset.snowflake_account,
            snowflake_user=dashboard_access.user_name,
            snowflake_role=dashboard_access.role_name,
            snowflake_warehouse=database.warehouse,
            snowflake_database=database.database,
            snowflake_schema=database.schema,
            snowflake_private_key=config.superset.private_key,
            snowflake_private_key_passphrase=config.superset.private_key_passphrase,
            refresh_seconds=config.dashboard_refresh_seconds,
        ),
        # Superset connects to Snowflake while importing: the view and the
        # dashboard user with its grants must exist first.
        opts=pulumi.ResourceOptions(
            depends_on=[enriched, dashboard_access, transformations, health, ingest_lag, credit_estimate]
        ),
    )
    pulumi.export("dashboard_url", dashboards.dashboard_url)

pulumi.export("bucket", landing.bucket)
pulumi.export("events_prefix", config.events_prefix)
pulumi.export("events_url", landing.events_url)
pulumi.export("aws_region", config.aws_region)
pulumi.export("snowflake_role_arn", access.role_arn)
pulumi.export("snowflake_external_id", access.external_id)
pulumi.export("storage_integration", access.integration_name)
pulumi.export("resource_monitor", cost_guard.monitor_name)
pulumi.export("database", database.database)
pulumi.export("schema", database.schema)
pulumi.export("warehouse", database.warehouse)
pulumi.export("enriched_events_view", enriched.fully_qualified_name)
pulumi.export("dashboard_role", dashboard_access.role_name)
pulumi.export("dashboard_user", dashboard_access.user_name)
pulumi.export("conversion_task", transformations.task_name)
