"""Post-deploy hook: import the dashboards of superset_assets/ into Superset.

A Pulumi dynamic resource. Its provider renders the asset bundle for this
stack's Snowflake connection (infra/superset_bundle.py), zips it and POSTs it
to Superset's /api/v1/assets/import/ (overwrite) through the API client
(infra/superset_client.py): database, dataset, charts and dashboard are
created or updated in one call, linked by UUID.

- Secrets (the dashboard user's private key, the Superset password) travel
  only in the login and the import request's `encrypted_extra_secrets`
  field, never in the bundle files, and never in the outputs:
  those hold a content hash, the dashboard URL and ids, plus a salted scrypt
  fingerprint of the Snowflake credentials (marked secret) so a rotated key
  triggers a re-import.
- diff: a re-import happens only when the rendered bundle, the Snowflake
  credentials or the Superset URL change.
- delete leaves the dashboards in Superset: people may have edited or shared
  them, and the Superset instance is not part of this stack. Delete them in
  Superset's UI if needed.

Pulumi stores this provider by module path (infra.superset_import, pickled by
dill with its classes by reference): moving the provider or the resource out
of this module breaks refresh/destroy of existing stacks. What they use lives
in importable modules (infra.superset_bundle, infra.superset_client), which
must keep those names. It must stay importable in the cloud program, i.e.
never import local_stack or tests.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi.dynamic

from infra.superset_bundle import (
    CONNECTION_FIELDS,
    RenderedBundle,
    dashboard_slug,
    dashboard_uuid,
    read_asset_files,
    render_bundle,
)
from infra.superset_client import SupersetClient
from infra.wire_format import reveal

# The unknown-value marker, as the dynamic provider host hands it to check and diff.
_UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def _has_unknown(value: Any) -> bool:
    value = reveal(value)
    if isinstance(value, dict):
        return any(_has_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_unknown(v) for v in value)
    return value == _UNKNOWN or type(value).__name__ == "Unknown"


def _credentials_fingerprint(props: Mapping[str, Any], salt: str) -> str:
    """A slow salted hash of the Snowflake credentials: detects rotation without storing them."""
    material = json.dumps(
        {k: reveal(props.get(k)) for k in ("private_key", "private_key_passphrase")},
        sort_keys=True,
    ).encode()
    digest = hashlib.scrypt(material, salt=bytes.fromhex(salt), n=2**14, r=8, p=1, dklen=32)
    return f"scrypt${salt}${digest.hex()}"


def rendered_bundle(props: Mapping[str, Any]) -> RenderedBundle:
    """The bundle exactly as the provider imports it for these resource inputs."""
    return render_bundle(
        reveal(props["asset_files"]),
        reveal(props["connection"]),
        private_key_passphrase=bool(reveal(props.get("private_key_passphrase"))),
    )


class SupersetImportProvider(pulumi.dynamic.ResourceProvider):
    """Creates/updates = one overwrite import; delete leaves Superset untouched (see module doc)."""

    def __init__(self, retries: int = 12, backoff: float = 0.5, timeout: float = 120.0):
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.CheckResult:
        failures = []
        url = reveal(news.get("superset_url"))
        # In a preview the URL may not be known yet (e.g. another stack's output).
        if isinstance(url, str) and not _has_unknown(url) and not url.startswith(("http://", "https://")):
            failures.append(pulumi.dynamic.CheckFailure("superset_url", f"{url!r} must start with http(s)://"))
        if not _has_unknown(news) and not reveal(news.get("private_key")):
            failures.append(
                pulumi.dynamic.CheckFailure("private_key", "give the dashboard user's private key (key-pair auth)")
            )
        connection = reveal(news.get("connection"))
        if isinstance(connection, dict):
            # Caught here, a missing field stops `pulumi preview` instead of failing the import at `up`.
            missing = [f for f in CONNECTION_FIELDS if not _has_unknown(connection.get(f)) and not connection.get(f)]
            if missing:
                failures.append(
                    pulumi.dynamic.CheckFailure("connection", f"the Snowflake connection lacks {', '.join(missing)}")
                )
        return pulumi.dynamic.CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.DiffResult:
        if _has_unknown({k: v for k, v in news.items() if k != "__provider"}):
            return pulumi.dynamic.DiffResult(changes=True)
        changed = []
        if rendered_bundle(news).content_hash != olds.get("content_hash"):
            changed.append("asset_files")
        if str(reveal(news.get("superset_url"))).rstrip("/") != olds.get("superset_url"):
            changed.append("superset_url")
        old_fingerprint = reveal(olds.get("credentials_fingerprint")) or ""
        salt = old_fingerprint.split("$")[1] if old_fingerprint.count("$") == 2 else None
        if salt is None or _credentials_fingerprint(news, salt) != old_fingerprint:
            changed.append("private_key")
        return pulumi.dynamic.DiffResult(changes=bool(changed), replaces=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        outs = self._import(props)
        return pulumi.dynamic.CreateResult(id_=outs["dashboard_uuid"], outs=outs)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.UpdateResult:
        return pulumi.dynamic.UpdateResult(outs=self._import(news))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        # Deliberately a no-op: see the module docstring.
        return None

    def _import(self, props: Mapping[str, Any]) -> dict[str, Any]:
        bundle = rendered_bundle(props)
        url = str(reveal(props["superset_url"])).rstrip("/")
        extra_secrets: dict[str, dict[str, str]] = {}
        for path in bundle.database_files:
            secrets_for_db = {"$.auth_params.privatekey_body": reveal(props["private_key"])}
            if passphrase := reveal(props.get("private_key_passphrase")):
                secrets_for_db["$.auth_params.privatekey_pass"] = passphrase
            extra_secrets[path] = secrets_for_db
        client = SupersetClient(url, retries=self.retries, backoff=self.backoff, timeout=self.timeout)
        client.login(str(reveal(props["superset_username"])), str(reveal(props["superset_password"])))
        client.import_bundle(bundle.to_zip(), extra_secrets)
        slug = dashboard_slug(bundle)
        dashboard = client.dashboard(slug)
        return {
            "superset_url": url,
            "content_hash": bundle.content_hash,
            "credentials_fingerprint": _credentials_fingerprint(props, secrets.token_hex(16)),
            "dashboard_uuid": dashboard_uuid(bundle),
            "dashboard_id": dashboard["id"],
            "dashboard_url": f"{url}/superset/dashboard/{slug}/",
            "chart_ids": client.dashboard_charts(dashboard["id"]),
        }


class SupersetAssetsImport(pulumi.dynamic.Resource, module="superset", name="AssetsImport"):
    """The dashboards of superset_assets/, imported into one Superset for one stack."""

    content_hash: pulumi.Output[str]
    dashboard_url: pulumi.Output[str]
    dashboard_id: pulumi.Output[int]
    dashboard_uuid: pulumi.Output[str]
    chart_ids: pulumi.Output[dict[str, int]]

    def __init__(
        self,
        name: str,
        *,
        superset_url: pulumi.Input[str],
        superset_username: pulumi.Input[str],
        superset_password: pulumi.Input[str],
        connection: pulumi.Input[Mapping[str, Any]],
        private_key: pulumi.Input[str],
        private_key_passphrase: pulumi.Input[str] | None = None,
        asset_files: Mapping[str, str] | None = None,
        provider: SupersetImportProvider | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        def secret(value: pulumi.Input[str] | None) -> pulumi.Output[str] | None:
            return None if value is None else pulumi.Output.secret(value)

        props = {
            "superset_url": superset_url,
            "superset_username": superset_username,
            "superset_password": secret(superset_password),
            "connection": connection,
            "private_key": secret(private_key),
            "private_key_passphrase": secret(private_key_passphrase),
            "asset_files": dict(asset_files if asset_files is not None else read_asset_files()),
            # Outputs, filled in by the provider.
            "content_hash": None,
            "dashboard_url": None,
            "dashboard_id": None,
            "dashboard_uuid": None,
            "chart_ids": None,
            "credentials_fingerprint": None,
        }
        opts = pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(additional_secret_outputs=["credentials_fingerprint"])
        )
        super().__init__(provider or SupersetImportProvider(), name, props, opts)
