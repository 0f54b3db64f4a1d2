"""The emulated Snowflake account's catalogue, and the rules a real account enforces that fakesnow does not.

fakesnow (on DuckDB) accepts any login, resolves names case-insensitively and
runs DML without a warehouse. A real account refuses all three. The local
deploy keeps its own catalogue of every object it created, with the exact
name the provider gave it, and checks against it:

- login: with `validate_default_parameters` (true by default, pulumi-snowflake
  2.22.0 provider docstring) the driver refuses a session whose default role,
  warehouse, database or schema does not exist (gosnowflake doc.go;
  terraform-provider-snowflake's acceptance test expects "The requested
  warehouse does not exist or not authorized.").
- a statement that reads or writes rows needs a warehouse in its session
  (https://docs.snowflake.com/en/user-guide/warehouses-overview: a warehouse
  provides the compute for queries and DML); without one Snowflake answers
  000606 "No active warehouse selected in the current session"
  (terraform-provider-snowflake issue #3067 shows the provider hitting it).
- CREATE PROCEDURE ... LANGUAGE PYTHON needs one too: "391531 (42601): SQL
  compilation error: An active warehouse is required for creating Python
  stored procedures" (terraform-provider-snowflake issues #1695, #2856; the
  ProcedurePython docstring of pulumi-snowflake 2.22.0: "Required warehouse").
- every object an object references must exist when it is created.
- account privileges: ACCOUNTADMIN holds them all; another role only what it
  was granted ("Insufficient privileges to operate on account", the README's
  error table). Only account administrators create resource monitors (docs:
  CREATE RESOURCE MONITOR) or, per terraform-provider-snowflake issue #3019
  (no Snowflake doc found), assign one to a warehouse. A task runs only if its
  owner holds EXECUTE TASK (https://docs.snowflake.com/user-guide/tasks-ts); creating
  a serverless task needs EXECUTE MANAGED TASK (docs: Introduction to tasks,
  "Creating tasks" privileges).
- a warehouse its resource monitor suspended cannot resume: every statement
  that needs it fails with 090073 (cost/rules.py: no Snowflake doc prints it,
  third parties quote it). Statements that need no warehouse (DDL, SHOW) still run.
- CREATE STREAM turns change tracking on for its table; the Table resource
  reads `change_tracking` back (terraform-provider-snowflake table.go, Read).
- identifiers: the provider quotes every name it is given (its SDK's
  identifiers render as "DB"."SCHEMA"."NAME"), so an object's name is kept
  exactly; names written unquoted in SQL text fold to upper case
  (https://docs.snowflake.com/en/sql-reference/identifiers-syntax).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from cost import rules
from infra.sql_source import fold
from local_stack.errors import LocalDeployError

# Roles every account has (https://docs.snowflake.com/en/user-guide/security-access-control-overview#system-defined-roles).
SYSTEM_ROLES = frozenset({"ORGADMIN", "ACCOUNTADMIN", "SECURITYADMIN", "USERADMIN", "SYSADMIN", "PUBLIC"})

# What Snowflake answers without a warehouse in the session (sources in the module docstring).
NO_ACTIVE_WAREHOUSE = (
    "000606 (57P03): No active warehouse selected in the current session. "
    "Select an active warehouse with the 'use warehouse' command."
)
PYTHON_PROCEDURE_NEEDS_WAREHOUSE = (
    "391531 (42601): SQL compilation error: An active warehouse is required for creating Python stored procedures."
)

ACCOUNTADMIN = "ACCOUNTADMIN"
# Account privileges this program's objects need (https://docs.snowflake.com/en/user-guide/security-access-control-privileges).
ACCOUNT_PRIVILEGES = (
    "CREATE DATABASE",
    "CREATE WAREHOUSE",
    "CREATE ROLE",
    "CREATE USER",
    "CREATE INTEGRATION",
    "EXECUTE TASK",
    "EXECUTE MANAGED TASK",
    "MANAGE GRANTS",
)


def monitor_suspended(warehouse: str, monitor: str) -> str:
    """Snowflake's refusal for a monitor-suspended warehouse (cost/rules.py cites where it is seen)."""
    message = rules.MONITOR_SUSPENDED_MESSAGE.format(warehouse=warehouse, monitor=monitor)
    return f"{rules.MONITOR_SUSPENDED_ERRNO:06d} ({rules.MONITOR_SUSPENDED_SQLSTATE}): {message}"


# Account-level kinds; every other kind lives in a schema.
ACCOUNT_KINDS = ("ROLE", "WAREHOUSE", "DATABASE", "USER", "INTEGRATION", "RESOURCE MONITOR")


class SnowflakeRefusedError(LocalDeployError):
    """What a real Snowflake account would answer with an error."""


@dataclass(frozen=True)
class Session:
    """One provider login: the defaults it asked for (None: not set)."""

    provider: str
    role: str | None
    warehouse: str | None


def split_qualified(name: str) -> tuple[str, ...]:
    """'"DB"."S"."N"' or 'DB.S.n' -> each part as Snowflake resolves it."""
    parts: list[str] = []
    current = ""
    quoted = False
    for char in name:
        if char == '"':
            quoted = not quoted
            current += char
        elif char == "." and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return tuple(fold(part.strip()) for part in parts)


@dataclass
class SnowflakeAccount:
    """Every object by kind and exact name; schema objects as (database, schema, name)."""

    objects: dict[str, set[tuple[str, ...]]] = field(default_factory=dict)
    grants: dict[str, set[str]] = field(default_factory=dict)
    """Role -> what it was granted: account privileges, and 'USAGE ON WAREHOUSE <name>'."""
    change_tracked: set[tuple[str, ...]] = field(default_factory=set)
    suspended_by_monitor: dict[str, str] = field(default_factory=dict)
    """Warehouse -> the resource monitor that suspended it."""
    region: str = "AWS_US_EAST_1"
    """CURRENT_REGION(): the local account plays the region of Pulumi.local.yaml's snowflakeAccountRegion."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.objects.setdefault("ROLE", set()).update((role,) for role in SYSTEM_ROLES)

    # ---------------------------------------------------------------- catalogue

    def add(self, kind: str, *name: str) -> None:
        with self._lock:
            self.objects.setdefault(kind, set()).add(tuple(name))

    def grant(self, role: str, *granted: str) -> None:
        with self._lock:
            self.grants.setdefault(role, set()).update(granted)

    def drop(self, kind: str, *name: str) -> None:
        """DROP: the object and, for a database or schema, everything in it."""
        with self._lock:
            self.objects.get(kind, set()).discard(tuple(name))
            if kind in ("DATABASE", "SCHEMA"):
                for other_kind, names in self.objects.items():
                    if other_kind in ACCOUNT_KINDS:
                        continue
                    self.objects[other_kind] = {n for n in names if n[: len(name)] != tuple(name)}

    def exists(self, kind: str, *name: str) -> bool:
        with self._lock:
            return tuple(name) in self.objects.get(kind, set())

    def require(self, kind: str, *name: str, needed_by: str) -> None:
        if not self.exists(kind, *name):
            shown = ".".join(f'"{part}"' for part in name)
            raise SnowflakeRefusedError(
                f"{needed_by}: SQL compilation error: {kind.title()} {shown} does not exist or not authorized. "
                "Snowflake checks every referenced object when this one is created: create it first "
                "(a dependency in the graph), or fix the name (unquoted names fold to upper case)"
            )

    def require_qualified(self, kind: str, qualified: str, needed_by: str) -> tuple[str, ...]:
        parts = split_qualified(qualified)
        if len(parts) != 3:
            raise SnowflakeRefusedError(f"{needed_by}: {kind.lower()} {qualified!r} must be named database.schema.name")
        self.require(kind, *parts, needed_by=needed_by)
        return parts

    def names(self, kind: str) -> set[tuple[str, ...]]:
        with self._lock:
            return set(self.objects.get(kind, set()))

    def to_json(self) -> dict:
        return {
            "objects": {kind: sorted(list(n) for n in names) for kind, names in self.objects.items()},
            "grants": {role: sorted(granted) for role, granted in self.grants.items()},
            "change_tracked": sorted(list(n) for n in self.change_tracked),
            "suspended_by_monitor": self.suspended_by_monitor,
            "region": self.region,
        }

    @classmethod
    def from_json(cls, saved: dict) -> SnowflakeAccount:
        return cls(
            {kind: {tuple(n) for n in names} for kind, names in saved["objects"].items()},
            grants={role: set(granted) for role, granted in saved.get("grants", {}).items()},
            change_tracked={tuple(n) for n in saved.get("change_tracked", [])},
            suspended_by_monitor=dict(saved.get("suspended_by_monitor", {})),
            region=saved.get("region", "AWS_US_EAST_1"),
        )

    # ---------------------------------------------------------------- rules

    def has(self, role: str | None, privilege: str) -> bool:
        # No role: the login's default role, which the local account does not model.
        return role in (None, ACCOUNTADMIN) or privilege in self.grants.get(role or "", set())

    def require_privilege(self, session: Session | None, privilege: str, what: str) -> None:
        role = session.role if session else None
        if not self.has(role, privilege):
            raise SnowflakeRefusedError(
                f"{what}: 003001 (42501): SQL access control error: Insufficient privileges to operate on account. "
                f"Role {role} lacks {privilege}: as ACCOUNTADMIN, `GRANT {privilege} ON ACCOUNT TO ROLE {role}`, "
                "or deploy with ACCOUNTADMIN"
            )

    def require_account_admin(self, session: Session | None, what: str, why: str) -> None:
        role = session.role if session else None
        if role not in (None, ACCOUNTADMIN):
            raise SnowflakeRefusedError(
                f"{what}: 003001 (42501): SQL access control error: Insufficient privileges to operate on account. "
                f"{why}. With a least-privileged snowflakeAdminRole ({role}), set existingWarehouse to a warehouse "
                "an ACCOUNTADMIN created and capped (README, least-privileged role)"
            )

    def may_use_warehouse(self, role: str | None, warehouse: str) -> bool:
        return self.has(role, f"USAGE ON WAREHOUSE {warehouse}") or self.has(
            role, f"OWNERSHIP ON WAREHOUSE {warehouse}"
        )

    def login(self, provider: str, inputs: dict) -> Session:
        """A provider's login, as the driver validates it (see the module docstring)."""
        role = fold(inputs["role"]) if inputs.get("role") else None
        warehouse = inputs.get("warehouse") or None
        database = inputs.get("database") or None
        schema = inputs.get("schema") or None
        if str(inputs.get("validateDefaultParameters", "true")).lower() != "false":
            if role and not self.exists("ROLE", fold(role)):
                raise SnowflakeRefusedError(
                    f"provider {provider}: 390189 (08004): Role '{fold(role)}' specified in the connect string "
                    "does not exist or not authorized. Create it first or give the provider an existing role"
                )
            if warehouse and not (
                self.exists("WAREHOUSE", fold(warehouse)) and self.may_use_warehouse(role, fold(warehouse))
            ):
                raise SnowflakeRefusedError(
                    f"provider {provider}: The requested warehouse does not exist or not authorized. "
                    f"(default warehouse {fold(warehouse)}): a provider may only name objects that exist before it "
                    "logs in; leave the warehouse out, or make the provider's warehouse an output of the "
                    "warehouse resource so it logs in after the warehouse exists"
                )
            if database and not self.exists("DATABASE", fold(database)):
                raise SnowflakeRefusedError(
                    f"provider {provider}: The requested database does not exist or not authorized. "
                    f"(default database {fold(database)})"
                )
            if database and schema and not self.exists("SCHEMA", fold(database), fold(schema)):
                raise SnowflakeRefusedError(
                    f"provider {provider}: The requested schema does not exist or not authorized. "
                    f"(default schema {fold(database)}.{fold(schema)})"
                )
        return Session(provider=provider, role=role, warehouse=fold(warehouse) if warehouse else None)

    def require_warehouse(self, session: Session | None, what: str, refusal: str = NO_ACTIVE_WAREHOUSE) -> None:
        if session is None or session.warehouse is None or not self.exists("WAREHOUSE", session.warehouse):
            provider = session.provider if session else "(none)"
            raise SnowflakeRefusedError(
                f"{what}: {refusal} (provider {provider} has no existing default "
                "warehouse: run this through a provider whose session has the POC warehouse)"
            )
        if session.warehouse in self.suspended_by_monitor:
            monitor = self.suspended_by_monitor[session.warehouse]
            raise SnowflakeRefusedError(
                f"{what}: {monitor_suspended(session.warehouse, monitor)} Raise the quota "
                f"(ALTER RESOURCE MONITOR {monitor} SET CREDIT_QUOTA = <n>, as ACCOUNTADMIN) or wait for its reset"
            )
