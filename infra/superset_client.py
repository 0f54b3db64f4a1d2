"""A logged-in session against Superset's REST API (JWT + CSRF token), as the dashboards import uses it.

Endpoints (Superset 6.1 REST API): POST /api/v1/security/login, GET
/api/v1/security/csrf_token/, POST /api/v1/assets/import/, GET
/api/v1/dashboard/<id or slug> and its /charts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from infra.superset_bundle import BUNDLE_ROOT, SupersetImportError


class SupersetLoginError(SupersetImportError):
    """Superset rejected the username/password."""


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

    def import_bundle(self, bundle: bytes, encrypted_extra_secrets: Mapping[str, Mapping[str, str]]) -> None:
        """Overwrite import; secrets go only in encrypted_extra_secrets, keyed by the database file's path."""
        data = {"overwrite": "true"}
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
