"""Post-deploy hook: import the dashboards of superset_assets/ into Superset.

A Pulumi dynamic resource. Its provider renders the asset bundle for this
stack's Snowflake connection, zips it and POSTs it to Superset's
/api/v1/assets/import/ (overwrite): database, dataset, charts and dashboard
are created or updated in one call, linked by UUID.

- Secrets (the dashboard user's private key or password, the Superset
  password) travel only in the import request's `encrypted_extra_secrets` /
  `passwords` fields, never in the bundle files, and never in the outputs:
  those hold a content hash, the dashboard URL and ids, plus a salted scrypt
  fingerprint of the Snowflake credentials (marked secret) so a rotated key
  triggers a re-import.
- diff: a re-import happens only when the rendered bundle, the Snowflake
  credentials or the Superset URL change.
- delete leaves the dashboards in Superset: people may have edited or shared
  them, and the Superset instance is not part of this stack. Delete them in
  Superset's UI if needed.

Pulumi stores this provider by module path (infra.superset_import): moving
the module breaks refresh/destroy of existing stacks. It must stay importable
in the cloud program, i.e. never import local_stack or tests.
"""

from __future__ import annotations

import hashlib
import io
import json
import secrets
import string
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pulumi
import pulumi.dynamic
import requests
import yaml
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from infra.wire_format import reveal

ASSETS_DIR = Path(__file__).resolve().parent.parent / "superset_assets"
# The one top-level folder Superset expects inside an import ZIP.
BUNDLE_ROOT = "ecommerce_dashboards"
# What Superset itself writes in place of a secret in exported YAML.
PASSWORD_MASK = "XXXXXXXXXX"

# The unknown-value marker, as the dynamic provider host hands it to diff.
_UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

# Connection fields rendered into the bundle (none of them secret).
CONNECTION_FIELDS = ("account", "user", "role", "warehouse", "database", "schema")
# Optional overrides that point the Snowflake driver at a local emulator.
EMULATOR_FIELDS = ("host", "port", "protocol")


class SupersetImportError(RuntimeError):
    """Importing the dashboards into Superset failed; the message says where and why."""


class SupersetLoginError(SupersetImportError):
    """Superset rejected the username/password."""


def _has_unknown(value: Any) -> bool:
    value = reveal(value)
    if isinstance(value, dict):
        return any(_has_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_unknown(v) for v in value)
    return value == _UNKNOWN or type(value).__name__ == "Unknown"


# --------------------------------------------------------------------------- bundle


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
    files: Mapping[str, str],
    connection: Mapping[str, Any],
    auth: str,
    private_key_passphrase: bool = False,
) -> RenderedBundle:
    """Fill this stack's connection into the asset templates.

    Only two places differ between stacks: each database's `sqlalchemy_uri`
    (${account}, ${user}, ${role}, ${warehouse}, ${database}, ${schema}) and
    each dataset's `catalog`/`schema` (${database}, ${schema}). With emulator
    fields (host/port/protocol) the driver is pointed at them through
    connect_args, which snowflake-sqlalchemy does not accept in the URL.
    `auth` is "keypair" (private key in encrypted_extra) or "password".
    """
    missing = [f for f in CONNECTION_FIELDS if not connection.get(f)]
    if missing:
        raise SupersetImportError(f"Snowflake connection for Superset lacks {', '.join(missing)}")
    if auth not in ("keypair", "password"):
        raise SupersetImportError(f"unknown Snowflake auth method {auth!r}: use keypair or password")
    user = quote(str(connection["user"]), safe="")
    uri_values = {f: quote(str(connection[f]), safe="") for f in CONNECTION_FIELDS}
    # A masked password in the URI makes Superset require one at import time.
    uri_values["user"] = f"{user}:{PASSWORD_MASK}" if auth == "password" else user
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
                _render_database_auth(doc, connection, auth, private_key_passphrase)
            elif path.startswith("datasets/"):
                for key in ("catalog", "schema"):
                    doc[key] = string.Template(doc[key]).substitute(
                        database=connection["database"], schema=connection["schema"]
                    )
        except (KeyError, ValueError) as err:
            raise SupersetImportError(f"superset_assets/{path}: bad connection template: {err}") from err
        rendered[path] = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    return RenderedBundle(rendered, tuple(database_files))


def _render_database_auth(doc: dict[str, Any], connection: Mapping[str, Any], auth: str, passphrase: bool) -> None:
    emulator = {f: connection[f] for f in EMULATOR_FIELDS if connection.get(f) not in (None, "")}
    if emulator:
        engine_params = doc.setdefault("extra", {}).setdefault("engine_params", {})
        connect_args = engine_params.setdefault("connect_args", {})
        connect_args.update(emulator)
        if "port" in connect_args:
            connect_args["port"] = int(connect_args["port"])
        # The emulator has no telemetry endpoint; the driver would log errors.
        connect_args.setdefault("session_parameters", {})["CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED"] = False
    if auth == "keypair":
        auth_params = {"privatekey_body": PASSWORD_MASK}
        if passphrase:
            auth_params["privatekey_pass"] = PASSWORD_MASK
        # Superset fills the masked fields from the request's encrypted_extra_secrets.
        doc["masked_encrypted_extra"] = json.dumps({"auth_method": "keypair", "auth_params": auth_params})


# --------------------------------------------------------------------------- Superset API


class SupersetClient:
    """A logged-in session against Superset's REST API (JWT + CSRF token)."""

    def __init__(self, base_url: str, retries: int = 12, backoff: float = 0.5, timeout: float = 60.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        # Superset may still be starting (connection refused, 502/503 from a
        # proxy): retry every call with exponential backoff, capped at 10 s
        # between tries (~85 s in total with the defaults). POST is retried
        # too: login and an overwrite import are both idempotent.
        retry = Retry(
            total=retries,
            connect=retries,
            read=2,
            status=retries,
            backoff_factor=backoff,
            backoff_max=10,
            status_forcelist=(502, 503, 504),
            allowed_methods=None,
            raise_on_status=False,
        )
        self.session.mount("http://", HTTPAdapter(max_retries=retry))
        self.session.mount("https://", HTTPAdapter(max_retries=retry))
        # Superset checks the Referer of CSRF-protected calls made over HTTPS.
        self.session.headers["Referer"] = self.base_url + "/"

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = self.base_url + path
        try:
            # Superset answers a bad session or CSRF token with a redirect to
            # /login/; following it would turn the error into a 200 HTML page.
            response = self.session.request(method, url, timeout=self.timeout, allow_redirects=False, **kwargs)
        except requests.exceptions.RetryError as err:
            raise SupersetImportError(
                f"Superset at {self.base_url} kept answering with a server error (502/503/504): {err}"
            ) from err
        except requests.exceptions.ConnectionError as err:
            raise SupersetImportError(
                f"Superset at {self.base_url} is unreachable (gave up after retrying): {err}. "
                "Check supersetUrl and that Superset is running."
            ) from err
        except requests.exceptions.Timeout as err:
            raise SupersetImportError(f"Superset at {self.base_url} did not answer {path} in time: {err}") from err
        if response.status_code in (502, 503, 504):
            raise SupersetImportError(
                f"Superset at {self.base_url} answered {response.status_code} to {path} even after retrying: "
                "it is not ready"
            )
        return response

    def login(self, username: str, password: str) -> None:
        response = self._request(
            "POST",
            "/api/v1/security/login",
            json={"username": username, "password": password, "provider": "db", "refresh": False},
        )
        if response.status_code in (400, 401, 403):
            raise SupersetLoginError(
                f"Superset login failed for user {username} at {self.base_url}: check supersetUsername/supersetPassword"
            )
        token = _json(response, "login").get("access_token")
        if response.status_code != 200 or not token:
            raise SupersetImportError(
                f"Superset login at {self.base_url} answered {response.status_code}: {_excerpt(response)}"
            )
        self.session.headers["Authorization"] = f"Bearer {token}"
        csrf = self._request("GET", "/api/v1/security/csrf_token/")
        csrf_token = _json(csrf, "csrf_token").get("result") if csrf.status_code == 200 else None
        if not csrf_token:
            raise SupersetImportError(
                f"Superset at {self.base_url} gave no CSRF token ({csrf.status_code}): {_excerpt(csrf)}"
            )
        self.session.headers["X-CSRFToken"] = csrf_token

    def import_bundle(
        self,
        bundle: bytes,
        passwords: Mapping[str, str],
        encrypted_extra_secrets: Mapping[str, Mapping[str, str]],
    ) -> None:
        data = {"overwrite": "true"}
        if passwords:
            data["passwords"] = json.dumps(dict(passwords))
        if encrypted_extra_secrets:
            data["encrypted_extra_secrets"] = json.dumps({k: dict(v) for k, v in encrypted_extra_secrets.items()})
        response = self._request(
            "POST",
            "/api/v1/assets/import/",
            files={"bundle": (f"{BUNDLE_ROOT}.zip", bundle, "application/zip")},
            data=data,
        )
        if response.status_code != 200:
            hint = ""
            if response.status_code in (302, 401):
                hint = " (session or CSRF token rejected)"
            elif response.status_code == 422:
                hint = " (Superset connects to Snowflake while importing: check the connection and credentials)"
            raise SupersetImportError(
                f"Superset at {self.base_url} rejected the dashboard import with {response.status_code}{hint}: "
                f"{_excerpt(response)}"
            )

    def dashboard(self, id_or_slug: str | int) -> dict[str, Any]:
        response = self._request("GET", f"/api/v1/dashboard/{id_or_slug}")
        if response.status_code != 200:
            raise SupersetImportError(
                f"dashboard {id_or_slug} not found in Superset at {self.base_url} after the import "
                f"({response.status_code}): {_excerpt(response)}"
            )
        return _json(response, "dashboard")["result"]

    def dashboard_charts(self, dashboard_id: int) -> dict[str, int]:
        response = self._request("GET", f"/api/v1/dashboard/{dashboard_id}/charts")
        if response.status_code != 200:
            raise SupersetImportError(
                f"charts of dashboard {dashboard_id} unreadable at {self.base_url} ({response.status_code})"
            )
        return {chart["slice_name"]: chart["id"] for chart in _json(response, "charts")["result"]}


def _json(response: requests.Response, what: str) -> dict[str, Any]:
    try:
        return response.json()
    except ValueError as err:
        raise SupersetImportError(
            f"Superset answered {what} with {response.status_code} and no JSON: {_excerpt(response)}"
        ) from err


def _excerpt(response: requests.Response) -> str:
    return response.text[:500].strip()


# --------------------------------------------------------------------------- provider


def _credentials_fingerprint(props: Mapping[str, Any], salt: str) -> str:
    """A slow salted hash of the Snowflake credentials: detects rotation without storing them."""
    material = json.dumps(
        {k: reveal(props.get(k)) for k in ("private_key", "private_key_passphrase", "database_password")},
        sort_keys=True,
    ).encode()
    digest = hashlib.scrypt(material, salt=bytes.fromhex(salt), n=2**14, r=8, p=1, dklen=32)
    return f"scrypt${salt}${digest.hex()}"


def _auth(props: Mapping[str, Any]) -> str:
    return "keypair" if reveal(props.get("private_key")) else "password"


def rendered_bundle(props: Mapping[str, Any]) -> RenderedBundle:
    """The bundle exactly as the provider imports it for these resource inputs."""
    return render_bundle(
        reveal(props["asset_files"]),
        reveal(props["connection"]),
        _auth(props),
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
        if isinstance(url, str) and not url.startswith(("http://", "https://")):
            failures.append(pulumi.dynamic.CheckFailure("superset_url", f"{url!r} must start with http(s)://"))
        if not _has_unknown(news) and not (reveal(news.get("private_key")) or reveal(news.get("database_password"))):
            failures.append(
                pulumi.dynamic.CheckFailure(
                    "private_key", "give the dashboard user's private key (key-pair auth) or a database password"
                )
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
        passwords: dict[str, str] = {}
        extra_secrets: dict[str, dict[str, str]] = {}
        for path in bundle.database_files:
            if _auth(props) == "keypair":
                secrets_for_db = {"$.auth_params.privatekey_body": reveal(props["private_key"])}
                if passphrase := reveal(props.get("private_key_passphrase")):
                    secrets_for_db["$.auth_params.privatekey_pass"] = passphrase
                extra_secrets[path] = secrets_for_db
            else:
                passwords[path] = reveal(props["database_password"])
        client = SupersetClient(url, retries=self.retries, backoff=self.backoff, timeout=self.timeout)
        client.login(str(reveal(props["superset_username"])), str(reveal(props["superset_password"])))
        client.import_bundle(bundle.to_zip(), passwords, extra_secrets)
        slug = _dashboard_slug(bundle)
        dashboard = client.dashboard(slug)
        return {
            "superset_url": url,
            "content_hash": bundle.content_hash,
            "credentials_fingerprint": _credentials_fingerprint(props, secrets.token_hex(16)),
            "dashboard_uuid": _dashboard_uuid(bundle),
            "dashboard_id": dashboard["id"],
            "dashboard_url": f"{url}/superset/dashboard/{slug}/",
            "chart_ids": client.dashboard_charts(dashboard["id"]),
        }


def _dashboard_doc(bundle: RenderedBundle) -> dict[str, Any]:
    dashboards = [p for p in bundle.files if p.startswith("dashboards/")]
    if len(dashboards) != 1:
        raise SupersetImportError(f"the asset bundle must hold exactly one dashboard, found {dashboards}")
    return yaml.safe_load(bundle.files[dashboards[0]])


def _dashboard_slug(bundle: RenderedBundle) -> str:
    return _dashboard_doc(bundle)["slug"]


def _dashboard_uuid(bundle: RenderedBundle) -> str:
    return str(_dashboard_doc(bundle)["uuid"])


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
        private_key: pulumi.Input[str] | None = None,
        private_key_passphrase: pulumi.Input[str] | None = None,
        database_password: pulumi.Input[str] | None = None,
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
            "database_password": secret(database_password),
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
