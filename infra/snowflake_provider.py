"""The explicit Snowflake provider every Snowflake resource of the POC uses."""

from __future__ import annotations

import pulumi
import pulumi_snowflake as snowflake

# Exactly the preview resources this program declares: the provider refuses
# preview resources it was not told about, and this list cannot come from the
# environment.
# ProcedurePython's docstring: "Caution: Preview Feature"; StreamOnTable and
# Task carry no such caution in pulumi-snowflake 2.22.0 (stable).
PREVIEW_FEATURES = ("snowflake_table_resource", "snowflake_pipe_resource", "snowflake_procedure_python_resource")


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
