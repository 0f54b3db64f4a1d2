"""The explicit Snowflake provider every Snowflake resource of the POC uses."""

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


def snowflake_provider(role: str, warehouse: str) -> snowflake.Provider:
    """Account and credentials come from SNOWFLAKE_* environment variables, never from files.

    `warehouse` runs the provider's own queries (reading views back needs one);
    it is the POC's warehouse, created in the same graph.
    """
    return snowflake.Provider(
        "snowflake",
        role=role,
        warehouse=warehouse,
        preview_features_enabled=list(PREVIEW_FEATURES),
        opts=pulumi.ResourceOptions(),
    )
