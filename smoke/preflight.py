"""`make preflight`: what a real account must have before the first `pulumi up`, each failure with its fix.

The same checks run against a real account (the SNOWFLAKE_* variables `pulumi up` uses) and against the local
stack's account (local_stack/account/snowflake_account.py), so tests can break the local account one way at a time.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from infra.snowpark_transformations import PROCEDURE_RUNTIME, PROCEDURE_SNOWPARK_VERSION
from local_stack.account.snowflake_account import ACCOUNT_PRIVILEGES, ACCOUNTADMIN

NS = "ecommerce-analytics"
SNOWPARK = "snowflake-snowpark-python"
# `replaceWith` (the pipe) is in Pulumi's changelog from 3.207.0 (2025-11-12).
MIN_PULUMI_CLI = (3, 207, 0)
STACK_DEFAULTS = ("SNOWFLAKE_WAREHOUSE", "SNOWFLAKE_DATABASE", "SNOWFLAKE_SCHEMA")


class PreflightError(RuntimeError):
    """The account could not be asked (login refused, variables missing); the message says why."""


@dataclass(frozen=True)
class AccountFacts:
    role: str
    account_privileges: frozenset[str]
    usable_warehouses: frozenset[str]
    snowpark_versions: frozenset[str] | None  # for PROCEDURE_RUNTIME; None: could not be read (no warehouse)
    region: str  # CURRENT_REGION(), e.g. AWS_US_EAST_1


class AccountProbe(Protocol):
    description: str

    def facts(self, role: str, warehouse: str | None) -> AccountFacts: ...


@dataclass(frozen=True)
class Finding:
    check: str
    ok: bool | None  # None: cannot be checked from here; the detail says what to do by hand
    detail: str
    fix: str = ""


def aws_region_of(snowflake_region: str) -> str:
    """AWS_US_EAST_1 -> us-east-1 (https://docs.snowflake.com/en/user-guide/intro-regions)."""
    return snowflake_region.removeprefix("AWS_").lower().replace("_", "-")


def run_checks(
    config: Mapping[str, str],
    probe: AccountProbe,
    environ: Mapping[str, str],
    pulumi_version: str | None,
    needs_cli: bool = True,
) -> list[Finding]:
    role = environ.get("SNOWFLAKE_ROLE") or config.get(f"{NS}:snowflakeAdminRole") or ACCOUNTADMIN
    existing = config.get(f"{NS}:existingWarehouse") or None
    prefix = config.get(f"{NS}:snowflakeNamePrefix", "ECOMMERCE_POC")
    findings: list[Finding] = []
    try:
        facts = probe.facts(role, existing)
    except PreflightError as err:
        return [Finding("login", False, str(err), f"fix the login, then run `make preflight` again (role {role})")]
    findings.append(Finding("login", True, f"{probe.description} as role {facts.role}"))

    if role == ACCOUNTADMIN:
        findings.append(Finding("account privileges", True, "ACCOUNTADMIN holds every account privilege"))
    else:
        serverless = config.get(f"{NS}:transformationCompute", "serverless") == "serverless"
        needed = [
            p
            for p in ACCOUNT_PRIVILEGES
            if not (existing and p == "CREATE WAREHOUSE") and not (p == "EXECUTE MANAGED TASK" and not serverless)
        ]
        missing = [p for p in needed if p not in facts.account_privileges]
        findings.append(
            Finding(
                "account privileges",
                not missing,
                f"role {role} lacks {', '.join(missing)}" if missing else f"role {role} has {', '.join(needed)}",
                "as ACCOUNTADMIN: " + "; ".join(f"GRANT {p} ON ACCOUNT TO ROLE {role}" for p in missing),
            )
        )
    if role != ACCOUNTADMIN and not existing:
        findings.append(
            Finding(
                "resource monitor",
                False,
                f"role {role} cannot create or assign the warehouse's resource monitor (account administrators only)",
                f"as ACCOUNTADMIN create a warehouse capped by a monitor, grant USAGE, OPERATE on it to {role}, "
                f"and `pulumi config set {NS}:existingWarehouse <name>` (README, least-privileged role)",
            )
        )
    if existing:
        usable = existing in facts.usable_warehouses
        findings.append(
            Finding(
                "existing warehouse",
                usable,
                f"{existing}: {'usable' if usable else 'does not exist or role ' + role + ' has no USAGE on it'}",
                f"as ACCOUNTADMIN: GRANT USAGE, OPERATE ON WAREHOUSE {existing} TO ROLE {role}",
            )
        )

    if facts.snowpark_versions is None:
        findings.append(
            Finding(
                "snowpark package",
                None,
                "not checked: reading INFORMATION_SCHEMA.PACKAGES needs a warehouse",
                "set existingWarehouse, or SNOWFLAKE_PREFLIGHT_WAREHOUSE to a warehouse this role may use",
            )
        )
    else:
        found = PROCEDURE_SNOWPARK_VERSION in facts.snowpark_versions
        findings.append(
            Finding(
                "snowpark package",
                found,
                f"{SNOWPARK}=={PROCEDURE_SNOWPARK_VERSION} for Python {PROCEDURE_RUNTIME} is "
                + ("available" if found else "not in the account's Anaconda channel"),
                "pin a version that SELECT VERSION FROM SNOWFLAKE.INFORMATION_SCHEMA.PACKAGES lists "
                "(PROCEDURE_SNOWPARK_VERSION in infra/snowpark_transformations.py)",
            )
        )
    # Snowflake's Python procedure docs list acknowledging the Anaconda terms as a prerequisite; no SQL reads it.
    findings.append(
        Finding(
            "anaconda terms",
            None,
            "cannot be read with SQL: an ORGADMIN acknowledges them once per organization",
            "Snowsight: Admin » Billing & Terms » Anaconda » Acknowledge & Continue",
        )
    )

    stack_region = config.get("aws:region", "")
    account_region = aws_region_of(facts.region)
    findings.append(
        Finding(
            "region",
            stack_region == account_region,
            f"aws:region {stack_region or '(unset)'}, Snowflake account in {facts.region}",
            f"pulumi config set aws:region {account_region} (S3 notifies only a queue in its own region)",
        )
    )

    stack_objects = {
        "SNOWFLAKE_WAREHOUSE": existing or f"{prefix}_WH",
        "SNOWFLAKE_DATABASE": prefix,
        "SNOWFLAKE_SCHEMA": config.get(f"{NS}:snowflakeSchema", "ANALYTICS"),
    }
    exported = [f"{v}={environ[v]}" for v in STACK_DEFAULTS if environ.get(v, "").upper() == stack_objects[v]]
    findings.append(
        Finding(
            "environment",
            not exported,
            f"{', '.join(exported)} names an object of this stack"
            if exported
            else "no SNOWFLAKE_* default names an object of this stack",
            f"unset {' '.join(e.split('=')[0] for e in exported)}: the provider would log in with it before it exists",
        )
    )

    if not needs_cli:
        findings.append(Finding("pulumi cli", True, "not needed for the local stack"))
    else:
        version = _version_tuple(pulumi_version)
        ok = version is not None and version >= MIN_PULUMI_CLI
        findings.append(
            Finding(
                "pulumi cli",
                ok,
                f"pulumi {pulumi_version or 'not found on PATH'}",
                "install Pulumi CLI 3.207.0 or newer (https://www.pulumi.com/docs/install/)",
            )
        )
    return findings


def _version_tuple(text: str | None) -> tuple[int, ...] | None:
    found = re.search(r"(\d+)\.(\d+)\.(\d+)", text or "")
    return tuple(int(g) for g in found.groups()) if found else None


def installed_pulumi_cli() -> str | None:
    try:
        done = subprocess.run(["pulumi", "version"], capture_output=True, text=True, check=False, timeout=30)
    except FileNotFoundError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


class LocalAccountProbe:
    """The local stack's account, as the strict local target keeps it."""

    description = "the local stack's account"

    def __init__(self, state_dir: Path):
        self.state_dir = state_dir

    def facts(self, role: str, warehouse: str | None) -> AccountFacts:
        from importlib.metadata import version

        from local_stack.account.snowflake_account import SnowflakeAccount, SnowflakeRefusedError
        from local_stack.services.state import ACCOUNT_FILE, read_document

        saved = read_document(self.state_dir, ACCOUNT_FILE)
        account = SnowflakeAccount.from_json(saved["account"]) if saved else SnowflakeAccount()
        try:
            session = account.login("preflight", {"role": role})
        except SnowflakeRefusedError as err:
            raise PreflightError(str(err)) from None
        # The local runner runs the procedure on this venv's Snowpark, which runs code written for any older release.
        installed = _version_tuple(version(SNOWPARK))
        offered = (
            {PROCEDURE_SNOWPARK_VERSION} if (_version_tuple(PROCEDURE_SNOWPARK_VERSION) or ()) <= installed else set()
        )
        return AccountFacts(
            role=session.role or role,
            account_privileges=frozenset(p for p in ACCOUNT_PRIVILEGES if account.has(session.role, p)),
            usable_warehouses=frozenset(
                w for (w,) in account.names("WAREHOUSE") if account.may_use_warehouse(session.role, w)
            ),
            snowpark_versions=frozenset(offered),
            region=account.region,
        )


class SnowflakeAccountProbe:
    """A real account, logged in with the SNOWFLAKE_* variables `pulumi up` uses (key pair)."""

    def __init__(self, environ: Mapping[str, str] = os.environ):
        self.environ = environ
        self.description = f"Snowflake account {environ.get('SNOWFLAKE_ORGANIZATION_NAME')}-" + str(
            environ.get("SNOWFLAKE_ACCOUNT_NAME")
        )

    def facts(self, role: str, warehouse: str | None) -> AccountFacts:
        import snowflake.connector

        from smoke.cloud_target import SNOWFLAKE_VARIABLES, CloudTargetError, _private_key

        missing = [name for name in SNOWFLAKE_VARIABLES if not self.environ.get(name)]
        if missing:
            raise PreflightError(f"set {', '.join(missing)} (the same variables `pulumi up` uses)")
        try:
            key = _private_key(self.environ)
        except CloudTargetError as err:
            raise PreflightError(str(err)) from None
        warehouse = warehouse or self.environ.get("SNOWFLAKE_PREFLIGHT_WAREHOUSE")
        try:
            connection = snowflake.connector.connect(
                account=f"{self.environ['SNOWFLAKE_ORGANIZATION_NAME']}-{self.environ['SNOWFLAKE_ACCOUNT_NAME']}",
                user=self.environ["SNOWFLAKE_USER"],
                authenticator="SNOWFLAKE_JWT",
                private_key=key,
                role=role,
                warehouse=warehouse,
            )
        except snowflake.connector.Error as err:
            raise PreflightError(f"login as role {role} failed: {err}") from None
        try:
            cursor = connection.cursor()
            # SHOW GRANTS TO ROLE lists direct grants only (docs: SHOW GRANTS); inherited ones are not seen.
            cursor.execute(f"SHOW GRANTS TO ROLE {role}")
            columns = [d[0].lower() for d in cursor.description]
            grants = [dict(zip(columns, row, strict=False)) for row in cursor.fetchall()]
            account_privileges = frozenset(g["privilege"] for g in grants if g["granted_on"] == "ACCOUNT")
            usable = frozenset(
                g["name"].strip('"')
                for g in grants
                if g["granted_on"] == "WAREHOUSE" and g["privilege"] in ("USAGE", "OWNERSHIP")
            )
            region = cursor.execute("SELECT CURRENT_REGION()").fetchone()[0]
            versions = None
            if warehouse:
                cursor.execute(
                    "SELECT VERSION FROM SNOWFLAKE.INFORMATION_SCHEMA.PACKAGES "
                    "WHERE LANGUAGE = 'python' AND PACKAGE_NAME = %s AND (RUNTIME_VERSION IS NULL OR "
                    "RUNTIME_VERSION = %s)",
                    (SNOWPARK, PROCEDURE_RUNTIME),
                )
                versions = frozenset(row[0] for row in cursor.fetchall())
        finally:
            connection.close()
        return AccountFacts(role, account_privileges, usable, versions, region)
