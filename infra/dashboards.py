"""Dashboards as code: the Superset assets of superset_assets/, imported after the Snowflake side exists.

The import must run after the ENRICHED_EVENTS view and the dashboard
service user/role exist (Superset connects to Snowflake while importing):
pass them as `depends_on` in the component's ResourceOptions; the component
hands that list on to its import resource.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from infra.superset_bundle import with_refresh
from infra.superset_import import SupersetAssetsImport, read_asset_files


@dataclass(kw_only=True)
class SupersetDashboardsArgs:
    superset_url: pulumi.Input[str]
    """Base URL of the Superset that receives the assets (config supersetUrl)."""
    superset_username: pulumi.Input[str]
    """Superset user with the Admin role that imports them (config supersetUsername)."""
    superset_password: pulumi.Input[str]
    """Password of superset_username (config supersetPassword, secret)."""
    snowflake_account: pulumi.Input[str]
    """Snowflake account identifier as ORGNAME-ACCOUNTNAME, as the Superset connection URI needs it."""
    snowflake_user: pulumi.Input[str]
    """The dashboard service user Superset logs in as."""
    snowflake_role: pulumi.Input[str]
    """Read-only role of the dashboard user."""
    snowflake_warehouse: pulumi.Input[str]
    """Warehouse the dashboard queries run on."""
    snowflake_database: pulumi.Input[str]
    """Database holding the ENRICHED_EVENTS view (also the dataset's catalog)."""
    snowflake_schema: pulumi.Input[str]
    """Schema holding the ENRICHED_EVENTS view."""
    snowflake_private_key: pulumi.Input[str]
    """PEM private key of the dashboard user (key-pair auth, secret)."""
    snowflake_private_key_passphrase: pulumi.Input[str] | None = None
    """Passphrase of an encrypted private key (secret); None for an unencrypted key."""
    asset_files: Mapping[str, str] | None = None
    """Bundle files (path -> YAML); None reads superset_assets/ from the repository."""
    refresh_seconds: int | None = None
    """Seconds between the dashboard's refreshes (config dashboardRefreshSeconds); None keeps the asset's."""


class SupersetDashboards(pulumi.ComponentResource):
    """The live ecommerce dashboard in Superset, kept in step with superset_assets/ on every `pulumi up`."""

    dashboard_url: pulumi.Output[str]
    dashboard_id: pulumi.Output[int]
    content_hash: pulumi.Output[str]

    def __init__(self, name: str, args: SupersetDashboardsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ecommerce:dashboards:SupersetDashboards", name, None, opts)
        connection: dict[str, Any] = {
            "account": args.snowflake_account,
            "user": args.snowflake_user,
            "role": args.snowflake_role,
            "warehouse": args.snowflake_warehouse,
            "database": args.snowflake_database,
            "schema": args.snowflake_schema,
        }
        # depends_on on a component does not make its children wait: hand the
        # caller's list to the import itself.
        depends_on = opts.depends_on if opts is not None else None
        files = args.asset_files if args.asset_files is not None else read_asset_files()
        self.assets_import = SupersetAssetsImport(
            f"{name}-import",
            superset_url=args.superset_url,
            superset_username=args.superset_username,
            superset_password=args.superset_password,
            connection=connection,
            private_key=args.snowflake_private_key,
            private_key_passphrase=args.snowflake_private_key_passphrase,
            asset_files=files if args.refresh_seconds is None else with_refresh(files, args.refresh_seconds),
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on),
        )
        self.dashboard_url = self.assets_import.dashboard_url
        self.dashboard_id = self.assets_import.dashboard_id
        self.content_hash = self.assets_import.content_hash
        self.register_outputs(
            {
                "dashboard_url": self.dashboard_url,
                "dashboard_id": self.dashboard_id,
                "content_hash": self.content_hash,
            }
        )
