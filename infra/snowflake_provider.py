"""The two Snowflake providers of the POC, and why there are two.

A provider logs in when it is configured, and with `validate_default_parameters`
(true by default in pulumi-snowflake 2.22.0, provider docstring) the Go driver
refuses a login whose default warehouse, database, schema or role does not
exist (gosnowflake doc.go: "the connection will fail ... if you specify a
non-existent database/schema/etc name"; terraform-provider-snowflake's own
acceptance test expects "The requested warehouse does not exist or not
authorized."). So:

- `admin` names only the deployment role, which exists before the stack. It
  runs every DDL statement, creates the POC warehouse itself, and can still log
  in while `pulumi destroy` drops that warehouse.
- `warehouse_session` has the POC warehouse as its default warehouse, for the
  statements that need one in their session: the reference data seeds
  (INSERT OVERWRITE / DELETE) and views (the provider reads a view's policy
  references with a table function, which needs a warehouse:
  terraform-provider-snowflake issue #3067, "No active warehouse selected").
  Its `warehouse` input is the warehouse resource's output, so the engine
  configures it only after the warehouse exists, and deletes every resource
  it manages, then the warehouse, in that order: Pulumi counts a resource's
  provider reference as a dependency (pulumi/pulumi
  pkg/resource/graph/dependency_graph.go, DependingOn).

Account and credentials come from SNOWFLAKE_* environment variables, never from files.
"""

from __future__ import annotations

import pulumi
import pulumi_snowflake as snowflake

# Exactly the preview resources this program declares: the provider refuses
# preview resources it was not told about, and this list cannot come from the
# environment. Preview status read from pulumi-snowflake 2.22.0's Provider
# docstring (preview_features_enabled) and each resource's "Preview Feature"
# caution: NotificationIntegration is preview; ResourceMonitor is stable.
PREVIEW_FEATURES = (
    "snowflake_table_resource",
    "snowflake_pipe_resource",
    "snowflake_notification_integration_resource",
)


def admin_provider(role: str) -> snowflake.Provider:
    """Runs the DDL; no default warehouse, database or schema to validate at login."""
    return snowflake.Provider("snowflake", role=role, preview_features_enabled=list(PREVIEW_FEATURES))


def warehouse_session_provider(role: str, warehouse: pulumi.Output[str]) -> snowflake.Provider:
    """Sessions with the POC warehouse as default; configured only once the warehouse exists."""
    return snowflake.Provider(
        "snowflake-warehouse-session",
        role=role,
        warehouse=warehouse,
        preview_features_enabled=list(PREVIEW_FEATURES),
    )
