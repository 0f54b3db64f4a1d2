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
  Its `warehouse` input is the warehouse's id (the provider's id of a
  warehouse is its name: terraform-provider-snowflake pkg/resources/warehouse.go,
  helpers.EncodeResourceIdentifier). The engine configures a provider during
  `pulumi preview` too, unless one of its inputs is unknown (pulumi/pulumi
  pkg/resource/deploy/providers/registry.go, Create), and a resource about to
  be created previews with its planned `name` known but its id unknown
  (pulumi-terraform-bridge pkg/tfbridge/provider.go, Create with preview). So
  in a fresh stack's preview this provider is not configured and does not log
  in with a warehouse that does not exist yet; in the update it is configured
  once the warehouse exists. `validate_default_parameters` stays on, so a
  wrong warehouse still fails at login with a clear message. Pulumi counts a
  resource's provider reference as a dependency (pulumi/pulumi
  pkg/resource/graph/dependency_graph.go, DependingOn): destroy deletes every
  resource this provider manages, then the warehouse.

Account and credentials come from SNOWFLAKE_* environment variables, never from files.
"""

from __future__ import annotations

import pulumi
import pulumi_snowflake as snowflake

# Exactly the preview resources this program declares: the provider refuses
# preview resources it was not told about, and this list cannot come from the
# environment. Preview status read from pulumi-snowflake 2.22.0's Provider
# docstring (preview_features_enabled) and each resource's "Preview Feature"
# caution: NotificationIntegration and ProcedurePython are preview;
# ResourceMonitor, StreamOnTable and Task carry no such caution (stable).
PREVIEW_FEATURES = (
    "snowflake_table_resource",
    "snowflake_pipe_resource",
    "snowflake_notification_integration_resource",
    "snowflake_procedure_python_resource",
)


def admin_provider(role: str) -> snowflake.Provider:
    """Runs the DDL; no default warehouse, database or schema to validate at login."""
    return snowflake.Provider("snowflake", role=role, preview_features_enabled=list(PREVIEW_FEATURES))


def warehouse_session_provider(role: str, warehouse_id: pulumi.Output[str]) -> snowflake.Provider:
    """Sessions with the POC warehouse as default; `warehouse_id` keeps a fresh stack's preview from logging in."""
    return snowflake.Provider(
        "snowflake-warehouse-session",
        role=role,
        warehouse=warehouse_id,
        preview_features_enabled=list(PREVIEW_FEATURES),
    )
