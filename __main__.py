"""Real-time ecommerce analytics POC, as one Pulumi dependency graph.

    producers ──► raw events bucket (S3) ──notification──► Snowpipe ──► ECOMMERCE_EVENTS
                       ▲                                       │          PRODUCTS, CUSTOMERS
        Snowflake access (integration ⇄ IAM role)              ▼
                                                   ENRICHED_EVENTS view ──► dashboards

Each line below builds one box of that drawing from the previous boxes' outputs.
"""

import pulumi

from infra.analytics_database import AnalyticsDatabase, AnalyticsDatabaseArgs
from infra.config import load_config
from infra.dashboard_access import DashboardAccess, DashboardAccessArgs
from infra.dashboards import SupersetDashboards, SupersetDashboardsArgs
from infra.enriched_events import EnrichedEvents, EnrichedEventsArgs
from infra.event_tables import EventTables, EventTablesArgs
from infra.events_ingestion import EventsIngestion, EventsIngestionArgs
from infra.pipe_health import PipeHealth, PipeHealthArgs
from infra.raw_events_bucket import RawEventsBucket, RawEventsBucketArgs
from infra.snowflake_access import SnowflakeS3Access, SnowflakeS3AccessArgs
from infra.snowflake_provider import snowflake_provider

config = load_config()  # stops here, before any resource, if the stack config is bad
names = config.namespace
snowflake = snowflake_provider(role=config.snowflake_admin_role, warehouse=config.warehouse)

landing = RawEventsBucket(
    "raw-events",
    RawEventsBucketArgs(config.bucket_name, config.events_prefix, config.force_destroy),
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
        snowflake_provider=snowflake,
    ),
)
database = AnalyticsDatabase(
    "analytics",
    AnalyticsDatabaseArgs(
        config.database,
        config.schema,
        config.warehouse,
        config.warehouse_size,
        snowflake,
    ),
)
tables = EventTables(
    "tables",
    EventTablesArgs(database.database, database.schema, names, snowflake),
    opts=pulumi.ResourceOptions(depends_on=[database.schema_resource]),
)
ingestion = EventsIngestion(
    "ingestion",
    EventsIngestionArgs(
        bucket=landing,
        access=access,
        database=database.database,
        schema=database.schema,
        namespace=names,
        target_table=tables.tables["ECOMMERCE_EVENTS"],
        snowflake_provider=snowflake,
    ),
)
enriched = EnrichedEvents(
    "enriched-events",
    EnrichedEventsArgs(
        names,
        database.schema_resource,
        tables.tables,
        database.warehouse_resource,
        snowflake,
    ),
)
dashboard_access = DashboardAccess(
    "dashboard-access",
    DashboardAccessArgs(
        namespace=names,
        database=database,
        view=enriched.view,
        role_name=config.dashboard_role,
        user_name=config.dashboard_user,
        public_key=config.dashboard_user_public_key,
        snowflake_provider=snowflake,
    ),
)
health = PipeHealth(
    "pipe-health",
    PipeHealthArgs(
        database=database.database,
        schema=database.schema,
        dashboard_role=dashboard_access.role_name,
        loads_after=[database.schema_resource, database.warehouse_resource, tables.tables["ECOMMERCE_EVENTS"]],
    ),
    opts=pulumi.ResourceOptions(providers=[snowflake]),
)
if config.superset is None:
    pulumi.log.warn(
        "supersetUrl is not set: the Superset dashboards step is left out. To import the dashboards, "
        "set ecommerce-analytics:supersetUrl (see README, 'Dashboards')"
    )
else:
    superset = config.superset
    dashboards = SupersetDashboards(
        "dashboards",
        SupersetDashboardsArgs(
            superset_url=superset.url,
            superset_username=superset.username,
            superset_password=superset.password,
            snowflake_account=superset.snowflake_account,
            snowflake_user=dashboard_access.user_name,
            snowflake_role=dashboard_access.role_name,
            snowflake_warehouse=database.warehouse,
            snowflake_database=database.database,
            snowflake_schema=database.schema,
            snowflake_private_key=superset.private_key,
            snowflake_private_key_passphrase=superset.private_key_passphrase,
            snowflake_password=superset.snowflake_password,
            emulator=superset.snowflake_emulator,
        ),
        # Superset connects to Snowflake while importing: the view and the
        # dashboard user with its grants must exist first.
        opts=pulumi.ResourceOptions(depends_on=[enriched.view, health, dashboard_access.user, *dashboard_access.ready]),
    )
    pulumi.export("dashboard_url", dashboards.dashboard_url)

pulumi.export("bucket", landing.bucket)
pulumi.export("events_prefix", config.events_prefix)
pulumi.export("events_url", landing.events_url)
pulumi.export("aws_region", config.aws_region)
pulumi.export("snowflake_role_arn", access.role_arn)
pulumi.export("snowflake_external_id", access.external_id)
pulumi.export("storage_integration", access.integration_name)
pulumi.export("stage", ingestion.stage)
pulumi.export("pipe", ingestion.pipe)
pulumi.export("notification_channel", ingestion.notification_channel)
pulumi.export("database", database.database)
pulumi.export("schema", database.schema)
pulumi.export("warehouse", database.warehouse)
pulumi.export("enriched_events_view", enriched.fully_qualified_name)
pulumi.export("dashboard_role", dashboard_access.role_name)
pulumi.export("dashboard_user", dashboard_access.user_name)
