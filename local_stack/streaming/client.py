"""A Snowpipe Streaming REST API client: key-pair JWT, scoped token, channels, appends, status.

Works against a real account (https://<org>-<account>.snowflakecomputing.com)
and against the local emulator (http://127.0.0.1:<port>); nothing here knows
which. Transport retries are urllib3's Retry (429 and 5xx with exponential
backoff, honouring Retry-After; connection errors too), and a body cut short
is sent again (tenacity). Retrying an append is
safe: a repeated continuation token is refused as stale, and the producer
then reopens its channel and resends from the committed offset.

Endpoints and fields: docs.snowflake.com, user-guide/snowpipe-streaming/
snowpipe-streaming-high-performance-rest-api.
"""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from requests.adapters import HTTPAdapter
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential
from urllib3.util.retry import Retry

from local_stack.streaming import protocol

# Snowflake accepts key-pair JWTs for at most an hour (developer-guide/sql-api/authenticating).
JWT_LIFETIME_SECONDS = 59 * 60
RETRY_STATUSES = (429, 500, 502, 503, 504)


class StreamingApiError(RuntimeError):
    """A non-2xx answer: the HTTP status and the documented {"code", "message"} body."""

    def __init__(self, status: int, code: str, message: str, what: str):
        super().__init__(f"{what}: HTTP {status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


def retrying_session(total: int = 8, backoff: float = 0.2) -> requests.Session:
    retry = Retry(
        total=total,
        connect=total,
        read=2,
        status=total,
        backoff_factor=backoff,
        backoff_max=10,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "PUT", "POST", "DELETE"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry, pool_maxsize=4)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


@dataclass(frozen=True)
class PipeRef:
    database: str
    schema: str
    name: str

    @classmethod
    def parse(cls, qualified: str) -> PipeRef:
        parts = qualified.split(".")
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"pipe {qualified!r} must be DATABASE.SCHEMA.PIPE (the stack output streaming_pipe)")
        return cls(*parts)


def key_pair_jwt(account: str, user: str, private_key_pem: bytes, passphrase: bytes | None = None) -> str:
    """iss ACCOUNT.USER.SHA256:<public key fingerprint>, sub ACCOUNT.USER, RS256 (key-pair authentication docs)."""
    key = serialization.load_pem_private_key(private_key_pem, password=passphrase)
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    fingerprint = "SHA256:" + base64.b64encode(hashlib.sha256(der).digest()).decode()
    qualified = f"{account.upper()}.{user.upper()}"
    now = int(time.time())
    claims = {"iss": f"{qualified}.{fingerprint}", "sub": qualified, "iat": now, "exp": now + JWT_LIFETIME_SECONDS}
    return jwt.encode(claims, key, algorithm="RS256")


class StreamingClient:
    def __init__(
        self,
        account_url: str,
        account: str,
        user: str,
        private_key_pem: bytes,
        passphrase: bytes | None = None,
        session: requests.Session | None = None,
        timeout: float = 30,
    ):
        parsed = urlparse(account_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(
                f"account URL {account_url!r} must look like https://<org>-<account>.snowflakecomputing.com"
            )
        self.account_url = account_url.rstrip("/")
        self.scheme = parsed.scheme
        self.account, self.user = account, user
        self._key, self._passphrase = private_key_pem, passphrase
        self.session = session or retrying_session()
        self.timeout = timeout
        self._jwt: tuple[str, float] | None = None
        self._scoped: str | None = None
        self.ingest_url: str | None = None

    # ---------------------------------------------------------------- authentication

    def _key_pair_jwt(self) -> str:
        if self._jwt is None or self._jwt[1] < time.time() + 60:
            self._jwt = (key_pair_jwt(self.account, self.user, self._key, self._passphrase), time.time() + 3000)
        return self._jwt[0]

    def _jwt_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._key_pair_jwt()}", protocol.TOKEN_TYPE_HEADER: protocol.KEYPAIR_JWT}

    def connect(self) -> None:
        """Get Hostname, then Exchange Scoped Token for it."""
        url = self.account_url + protocol.HOSTNAME_PATH
        answer = self._call("GET", url, "get hostname", headers=self._jwt_headers())
        hostname = answer["hostname"]
        self.ingest_url = f"{self.scheme}://{hostname}"
        response = self.session.post(
            self.account_url + protocol.TOKEN_PATH,
            data={"grant_type": protocol.JWT_GRANT_TYPE, "scope": hostname},
            headers=self._jwt_headers(),
            timeout=self.timeout,
        )
        self._check(response, "exchange scoped token")
        # The docs show {"token": ...}; accounts have also been seen answering with the bare token.
        try:
            self._scoped = response.json()["token"]
        except (ValueError, KeyError, TypeError):
            self._scoped = response.text.strip()

    def _scoped_headers(self) -> dict[str, str]:
        if self._scoped is None:
            self.connect()
        return {"Authorization": f"Bearer {self._scoped}", protocol.TOKEN_TYPE_HEADER: protocol.OAUTH}

    # ---------------------------------------------------------------- channel operations

    def open_channel(self, pipe: PipeRef, channel: str, offset_token: str | None = None) -> dict[str, Any]:
        """{"next_continuation_token", "channel_status": {... "last_committed_offset_token" ...}}."""
        body = {} if offset_token is None else {"offset_token": offset_token}
        path = protocol.channel_path(pipe.database, pipe.schema, pipe.name, channel)
        return self._scoped_call("PUT", path, f"open channel {channel}", json=body)

    def append_rows(
        self, pipe: PipeRef, channel: str, continuation: str, rows: bytes, start_offset: str, end_offset: str
    ) -> str:
        """Append NDJSON rows; returns the next continuation token."""
        if len(rows) > protocol.MAX_ROWS_BYTES:
            raise ValueError(f"{len(rows)} bytes of rows; Append Rows takes at most {protocol.MAX_ROWS_BYTES}")
        path = protocol.rows_path(pipe.database, pipe.schema, pipe.name, channel)
        answer = self._scoped_call(
            "POST",
            path,
            f"append rows to {channel}",
            params={"continuationToken": continuation, "startOffsetToken": start_offset, "endOffsetToken": end_offset},
            data=rows,
            headers={"Content-Type": protocol.NDJSON},
        )
        return answer["next_continuation_token"]

    def channel_statuses(self, pipe: PipeRef, channels: list[str]) -> dict[str, dict[str, Any]]:
        path = protocol.bulk_status_path(pipe.database, pipe.schema, pipe.name)
        answer = self._scoped_call("POST", path, "bulk channel status", json={"channel_names": channels})
        return answer.get("channel_statuses") or {}

    def drop_channel(self, pipe: PipeRef, channel: str) -> None:
        path = protocol.channel_path(pipe.database, pipe.schema, pipe.name, channel)
        self._scoped_call("DELETE", path, f"drop channel {channel}")

    # ---------------------------------------------------------------- transport

    def _scoped_call(self, method: str, path: str, what: str, **kwargs: Any) -> dict[str, Any]:
        headers = kwargs.pop("headers", {})
        if self.ingest_url is None:
            self.connect()
        try:
            return self._call(method, self.ingest_url + path, what, headers=headers | self._scoped_headers(), **kwargs)
        except StreamingApiError as err:
            if err.status != 401:
                raise
        # A scoped token expires: exchange a new one once, then give up loudly.
        self.connect()
        return self._call(method, self.ingest_url + path, what, headers=headers | self._scoped_headers(), **kwargs)

    def _call(self, method: str, url: str, what: str, **kwargs: Any) -> dict[str, Any]:
        # urllib3's Retry ends once the headers arrive; a body cut short (the server died while answering) is
        # sent again here. Safe for every call: a resent append is refused as stale and the producer reopens.
        for attempt in Retrying(
            retry=retry_if_exception_type(requests.exceptions.ChunkedEncodingError),
            stop=stop_after_attempt(4),
            wait=wait_exponential(multiplier=0.2, max=5),
            reraise=True,
        ):
            with attempt:
                response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        self._check(response, what)
        return response.json() if response.content else {}

    @staticmethod
    def _check(response: requests.Response, what: str) -> None:
        if response.ok:
            return
        try:
            body = response.json()
            code, message = str(body.get("code", "")), str(body.get("message", ""))
        except ValueError:
            code, message = "", response.text[:500]
        raise StreamingApiError(response.status_code, code or f"HTTP_{response.status_code}", message, what)
