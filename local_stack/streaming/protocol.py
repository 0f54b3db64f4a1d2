"""The Snowpipe Streaming REST API as documented: paths, headers, limits and the error body.

Source for everything here unless a line says otherwise: docs.snowflake.com,
user-guide/snowpipe-streaming/snowpipe-streaming-high-performance-rest-api
("Snowpipe Streaming REST API endpoints").
"""

from __future__ import annotations

from urllib.parse import quote

HOSTNAME_PATH = "/v2/streaming/hostname"
TOKEN_PATH = "/oauth/token"
JWT_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_TYPE_HEADER = "X-Snowflake-Authorization-Token-Type"
# Token types as the Snowflake REST APIs name them (the SDK sends the same strings: KEYPAIR_JWT, OAUTH).
KEYPAIR_JWT = "KEYPAIR_JWT"
OAUTH = "OAUTH"
NDJSON = "application/x-ndjson"

# "The maximum allowed size for a single request payload is 16 MB"; the rows
# of one Append Rows "The maximum allowed size for this attribute is 4 MB".
MAX_REQUEST_BYTES = 16 * 1024 * 1024
MAX_ROWS_BYTES = 4 * 1024 * 1024

# The one error code the page shows, with its message.
STALE_CONTINUATION_TOKEN = "STALE_CONTINUATION_TOKEN_SEQUENCER"
# Open/Drop Channel with fail_on_uncommitted_rows: "409 Conflict (ERR_CHANNEL_HAS_UNCOMMITTED_DATA)".
CHANNEL_HAS_UNCOMMITTED_DATA = "ERR_CHANNEL_HAS_UNCOMMITTED_DATA"


def _segment(name: str) -> str:
    return quote(name, safe="")


def channel_path(database: str, schema: str, pipe: str, channel: str) -> str:
    """Open Channel (PUT) and Drop Channel (DELETE)."""
    return f"/v2/streaming/databases/{_segment(database)}/schemas/{_segment(schema)}/pipes/{_segment(pipe)}/channels/{_segment(channel)}"  # noqa: E501


def rows_path(database: str, schema: str, pipe: str, channel: str) -> str:
    """Append Rows (POST), on the data path."""
    return "/v2/streaming/data" + channel_path(database, schema, pipe, channel).removeprefix("/v2/streaming") + "/rows"


def bulk_status_path(database: str, schema: str, pipe: str) -> str:
    """Bulk Get Channel Status (POST, body {"channel_names": [...]})."""
    return f"/v2/streaming/databases/{_segment(database)}/schemas/{_segment(schema)}/pipes/{_segment(pipe)}:bulk-channel-status"  # noqa: E501


def error_body(code: str, message: str) -> dict[str, str]:
    """The documented error shape ("Error response structure")."""
    return {"code": code, "message": message}
