"""Read-only access for the dashboard tool: a role and a key-pair service user."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_snowflake as snowflake

from infra.analytics_database import AnalyticsDatabase
from infra.enriched_events import EnrichedEvents


@dataclass(kw_only=True)
class DashboardAccessArgs:
    database: AnalyticsDatabase
    """Database, schema and warehouse the role gets USAGE on."""
    view: EnrichedEvents
    """The only object the role may SELECT from."""
    role_name: str
    """Account role for dashboard readers."""
    user_name: str
    """Service user the dashboard tool logs in as."""
    public_key: str | None
    """RSA public key of the service user (None: set it later)."""


class DashboardAccess(pulumi.ComponentResource):
    """Depend on the component: its grants and the user's role membership are what make a login work."""

    role_name: pulumi.Output[str]
    user_name: pulumi.Output[str]

    def __init__(self, name: str, args: DashboardAccessArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ecommerce:dashboards:DashboardAccess", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        db = args.database

        role = snowflake.AccountRole(
            f"{name}-role",
            name=args.role_name,
            comment="Read-only: the ENRICHED_EVENTS view",
            opts=child,
        )
        schema_name = pulumi.Output.concat(db.database, ".", db.schema)
        # Exactly what reading the view needs, nothing else.
        privileges = {
            "usage-database": ("USAGE", {"on_account_object": {"object_type": "DATABASE", "object_name": db.database}}),
            "usage-warehouse": (
                "USAGE",
                {"on_account_object": {"object_type": "WAREHOUSE", "object_name": db.warehouse}},
            ),
            "usage-schema": ("USAGE", {"on_schema": {"schema_name": schema_name}}),
            "select-view": (
                "SELECT",
                {
                    "on_schema_object": {
                        "object_type": "VIEW",
                        "object_name": pulumi.Output.concat(schema_name, ".", args.view.name),
                    }
                },
            ),
        }
        for suffix, (privilege, target) in privileges.items():
            snowflake.GrantPrivilegesToAccountRole(
                f"{name}-{suffix}", account_role_name=role.name, privileges=[privilege], **target, opts=child
            )
        user = snowflake.ServiceUser(
            f"{name}-user",
            name=args.user_name,
            comment="Dashboard tool (Superset); key-pair authentication only",
            default_role=role.name,
            default_warehouse=db.warehouse,
            default_namespace=f"{db.path.database}.{db.path.schema}",
            rsa_public_key=args.public_key,
            opts=child,
        )
        snowflake.GrantAccountRole(f"{name}-user-role", role_name=role.name, user_name=user.name, opts=child)

        self.role_name = role.name
        self.user_name = user.name
        self.register_outputs({"role": role.name, "user": user.name})
