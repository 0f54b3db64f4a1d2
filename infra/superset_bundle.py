"""The dashboards' asset bundle: superset_assets/ rendered for one stack's Snowflake connection.

Only two places differ between stacks: each database's `sqlalchemy_uri` and
each dataset's `catalog`/`schema`. Secrets never enter the bundle: Superset's
own mask stands in for them, and the import request carries the real values
(see infra/superset_import.py). The same bundle always zips to the same bytes,
so its content hash tells whether a re-import is needed.
"""

from __future__ import annotations

import hashlib
import io
import json
import string
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml

ASSETS_DIR = Path(__file__).resolve().parent.parent / "superset_assets"
# The one top-level folder Superset expects inside an import ZIP.
BUNDLE_ROOT = "ecommerce_dashboards"
# What Superset itself writes in place of a secret in exported YAML.
PASSWORD_MASK = "XXXXXXXXXX"

# Connection fields rendered into the bundle (none of them secret).
CONNECTION_FIELDS = ("account", "user", "role", "warehouse", "database", "schema")
# Optional driver endpoint (connect_args) for an account not reached at
# <account>.snowflakecomputing.com; the cloud program sets none, the local
# target sets its emulator's where it creates the import.
DRIVER_ENDPOINT_FIELDS = ("host", "port", "protocol")


class SupersetImportError(RuntimeError):
    """Importing the dashboards into Superset failed; the message says where and why."""


def read_asset_files(assets_dir: Path = ASSETS_DIR) -> dict[str, str]:
    """The YAML files of the asset bundle, keyed by their path relative to assets_dir."""
    files = {
        path.relative_to(assets_dir).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(assets_dir.rglob("*.yaml"))
    }
    if "metadata.yaml" not in files:
        raise SupersetImportError(f"{assets_dir} has no metadata.yaml: not a Superset asset bundle")
    return files


@dataclass(frozen=True)
class RenderedBundle:
    files: dict[str, str]  # path inside the bundle -> YAML text, secrets masked
    database_files: tuple[str, ...]  # paths of databases/*.yaml, for the secret fields

    @property
    def content_hash(self) -> str:
        digest = hashlib.sha256()
        for path in sorted(self.files):
            digest.update(path.encode() + b"\0" + self.files[path].encode() + b"\0")
        return digest.hexdigest()

    def to_zip(self) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(self.files):
                # Fixed timestamps: the same bundle always zips to the same bytes.
                info = zipfile.ZipInfo(f"{BUNDLE_ROOT}/{path}", date_time=(2020, 1, 1, 0, 0, 0))
                archive.writestr(info, self.files[path])
        return buffer.getvalue()


def render_bundle(
    files: Mapping[str, str], connection: Mapping[str, Any], private_key_passphrase: bool = False
) -> RenderedBundle:
    """Fill this stack's connection into the asset templates.

    Only two places differ between stacks: each database's `sqlalchemy_uri`
    (${account}, ${user}, ${role}, ${warehouse}, ${database}, ${schema}) and
    each dataset's `catalog`/`schema` (${database}, ${schema}). A driver
    endpoint (host/port/protocol) goes into connect_args, which
    snowflake-sqlalchemy does not accept in the URL. The dashboard user logs in
    with its key pair; the key travels in the import's encrypted_extra_secrets.
    """
    missing = [f for f in CONNECTION_FIELDS if not connection.get(f)]
    if missing:
        raise SupersetImportError(f"Snowflake connection for Superset lacks {', '.join(missing)}")
    uri_values = {f: quote(str(connection[f]), safe="") for f in CONNECTION_FIELDS}
    rendered: dict[str, str] = {}
    database_files = []
    for path, text in sorted(files.items()):
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise SupersetImportError(f"superset_assets/{path} is not valid YAML: {err}") from err
        try:
            if path.startswith("databases/"):
                database_files.append(path)
                doc["sqlalchemy_uri"] = string.Template(doc["sqlalchemy_uri"]).substitute(uri_values)
                _render_database_auth(doc, connection, private_key_passphrase)
            elif path.startswith("datasets/"):
                for key in ("catalog", "schema"):
                    doc[key] = string.Template(doc[key]).substitute(
                        database=connection["database"], schema=connection["schema"]
                    )
        except (KeyError, ValueError) as err:
            raise SupersetImportError(f"superset_assets/{path}: bad connection template: {err}") from err
        rendered[path] = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    return RenderedBundle(rendered, tuple(database_files))


def _render_database_auth(doc: dict[str, Any], connection: Mapping[str, Any], passphrase: bool) -> None:
    endpoint = {f: connection[f] for f in DRIVER_ENDPOINT_FIELDS if connection.get(f) not in (None, "")}
    if endpoint:
        engine_params = doc.setdefault("extra", {}).setdefault("engine_params", {})
        connect_args = engine_params.setdefault("connect_args", {})
        connect_args.update(endpoint)
        if "port" in connect_args:
            connect_args["port"] = int(connect_args["port"])
        # A non-default endpoint has no telemetry service; the driver would log errors.
        connect_args.setdefault("session_parameters", {})["CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED"] = False
    auth_params = {"privatekey_body": PASSWORD_MASK}
    if passphrase:
        auth_params["privatekey_pass"] = PASSWORD_MASK
    # Superset fills the masked fields from the request's encrypted_extra_secrets.
    doc["masked_encrypted_extra"] = json.dumps({"auth_method": "keypair", "auth_params": auth_params})


def with_refresh(files: Mapping[str, str], seconds: int) -> dict[str, str]:
    """The asset files with the dashboard re-querying its charts every `seconds` while it is open.

    Each refresh with new data resumes the warehouse for at least 60 s, so
    this interval is the dashboards' cost; docs/cost.md has the numbers.
    """
    updated = dict(files)
    for path, text in files.items():
        if path.startswith("dashboards/"):
            doc = yaml.safe_load(text)
            doc["metadata"]["refresh_frequency"] = seconds
            updated[path] = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    return updated


def dashboard_doc(bundle: RenderedBundle) -> dict[str, Any]:
    dashboards = [p for p in bundle.files if p.startswith("dashboards/")]
    if len(dashboards) != 1:
        raise SupersetImportError(f"the asset bundle must hold exactly one dashboard, found {dashboards}")
    return yaml.safe_load(bundle.files[dashboards[0]])


def dashboard_slug(bundle: RenderedBundle) -> str:
    return dashboard_doc(bundle)["slug"]


def dashboard_uuid(bundle: RenderedBundle) -> str:
    return str(dashboard_doc(bundle)["uuid"])
