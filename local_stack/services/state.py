"""Every file the local stack's processes hand each other, named, written (atomically) and read only here.

`endpoints.json` and `pipes.json` have types: a renamed field is a type error,
and a file from an older version of the stack is refused with a message that
says to restart it. The deploy's records (`snowflake_objects.json`,
`local-cloud.json`, `deploy.json`, `deploy-config.json`) are JSON documents
whose shape their one writer and reader define; `pulumi-state.json` is
checkpoint.py's record of the deploy.
"""

from __future__ import annotations

import dataclasses
import json
import os
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

from local_stack.errors import LocalStackError

ENDPOINTS_FILE = "endpoints.json"
PIPES_FILE = "pipes.json"
SNOWFLAKE_OBJECTS_FILE = "snowflake_objects.json"
"""What fakesnow cannot hold (warehouses, roles, grants, streams, procedures, tasks): task runner, destroy."""
ACCOUNT_FILE = "local-cloud.json"
"""The strict account's catalogue and the stages, for a second deploy, preview, refresh, destroy and preflight."""
DEPLOY_RECORD_FILE = "deploy.json"
DEPLOY_CONFIG_FILE = "deploy-config.json"
DEPLOY_STATE_FILE = "pulumi-state.json"
ADVISORIES_FILE = "policy-advisories.txt"
"""Every advisory of the policy pack's last check, in full (the console shows one line)."""
STREAMING_FILE = "streaming.json"
"""Where the local Snowpipe Streaming emulator listens, and its channels' records."""
# Files of one stack's life, removed by the next `up`; caches (the Superset venv and home) survive.
RUN_FILES = (
    ENDPOINTS_FILE,
    PIPES_FILE,
    SNOWFLAKE_OBJECTS_FILE,
    ACCOUNT_FILE,
    DEPLOY_RECORD_FILE,
    DEPLOY_CONFIG_FILE,
    DEPLOY_STATE_FILE,
    STREAMING_FILE,
    ADVISORIES_FILE,
)
_RESTART = "restart the local stack (`make local-down && make local-up`)"


@dataclass(frozen=True, kw_only=True)
class SnowflakeEndpoint:
    """Where the local Snowflake (fakesnow) listens, and the POC's database and schema in it."""

    host: str
    port: int
    protocol: str
    database: str
    schema: str


@dataclass(frozen=True, kw_only=True)
class Endpoints:
    """`.local/endpoints.json`: where the running local stack listens (layout documented in the README)."""

    s3_endpoint_url: str
    """moto's URL: S3, SQS, IAM and STS."""
    region: str
    """aws:region of Pulumi.local.yaml."""
    bucket: str
    """The raw events bucket the program created."""
    events_prefix: str
    """The only folder the pipe's stage and the notification cover."""
    snowflake: SnowflakeEndpoint
    superset_url: str | None = None
    """None when the stack runs without Superset (SUPERSET=0)."""
    superset_username: str | None = None
    superset_password: str | None = None
    dashboard_url: str | None = None
    """The deploy's `dashboard_url` export, when Superset is part of the stack."""


@dataclass(frozen=True, kw_only=True)
class Pipe:
    """One entry of `.local/pipes.json`: a pipe the local deploy created, as the local Snowpipe runs it."""

    name: str
    database: str
    schema: str
    copy_statement: str
    """The pipe's COPY INTO, as the program declared it."""
    auto_ingest: bool
    queue_url: str
    """The SQS queue standing in for the pipe's notification channel."""
    queue_arn: str
    """The pipe's `notification_channel` output."""
    stage_name: str
    stage_url: str
    """s3://bucket/prefix/ of the pipe's stage."""
    file_format_name: str | None = None
    compression: str = "AUTO"
    error_topic_arn: str | None = None
    """SNS topic of the pipe's ERROR_INTEGRATION: where each skipped file is reported (None: no integration)."""

    @property
    def bucket(self) -> str:
        return urlparse(self.stage_url).netloc

    @property
    def prefix(self) -> str:
        path = urlparse(self.stage_url).path.lstrip("/")
        return path if not path or path.endswith("/") else path + "/"

    @property
    def qualified_name(self) -> str:
        return f"{self.database}.{self.schema}.{self.name}"


@dataclass(frozen=True, kw_only=True)
class StreamingEndpoint:
    """`.local/streaming.json`: how a producer reaches the local Snowpipe Streaming API (local_stack/streaming/)."""

    url: str
    """The emulator: it answers as the account URL and as the ingest host."""
    account: str
    """Account identifier the JWT names (fakesnow has no account; the emulator checks this one)."""
    user: str
    """The streaming service user the program created."""
    pipe: str
    """DATABASE.SCHEMA.PIPE of the streaming pipe."""
    private_key_file: str
    """The throwaway PKCS#8 key of that user (mode 600, local only)."""


def write_streaming(state_dir: Path, endpoint: StreamingEndpoint) -> Path:
    path = Path(state_dir) / STREAMING_FILE
    _write(path, dataclasses.asdict(endpoint))
    return path


def read_streaming(state_dir: Path) -> StreamingEndpoint:
    path = Path(state_dir) / STREAMING_FILE
    if not path.exists():
        raise LocalStackError(
            f"{path} is missing: the local stack streams only when Pulumi.local.yaml's ingestion is "
            "streaming or both; start it with `make local-up`"
        )
    return _build(StreamingEndpoint, _load(path), path)


def write_endpoints(state_dir: Path, endpoints: Endpoints) -> Path:
    """Mode 600: the file holds the local Superset admin's password."""
    path = Path(state_dir) / ENDPOINTS_FILE
    _write(path, dataclasses.asdict(endpoints), private=True)
    return path


def read_endpoints(state_dir: Path) -> Endpoints:
    path = Path(state_dir) / ENDPOINTS_FILE
    if not path.exists():
        raise LocalStackError(f"no local stack is running ({path} is missing): start one with `make local-up`")
    return _build(Endpoints, _load(path), path)


def write_pipes(state_dir: Path, pipes: list[Pipe]) -> Path:
    path = Path(state_dir) / PIPES_FILE
    _write(path, {"pipes": [dataclasses.asdict(p) for p in pipes]})
    return path


def read_pipes(state_dir: Path) -> list[Pipe]:
    path = Path(state_dir) / PIPES_FILE
    if not path.exists():
        raise LocalStackError(f"{path} is missing: the local deploy writes it; start the stack with `make local-up`")
    document = _load(path)
    if not isinstance(document, dict) or not isinstance(document.get("pipes"), list):
        raise LocalStackError(f'{path} is not {{"pipes": [...]}}: {_RESTART}')
    return [_build(Pipe, entry, path) for entry in document["pipes"]]


def write_document(state_dir: Path, name: str, document: Any, private: bool = False) -> Path:
    """One of the deploy's records; `private`: mode 600 (it holds secrets)."""
    path = Path(state_dir) / name
    _write(path, document, private)
    return path


def read_document(state_dir: Path, name: str, default: Any = None) -> Any:
    """A record the deploy wrote, or `default` when this stack has none yet."""
    path = Path(state_dir) / name
    return _load(path) if path.exists() else default


def _write(path: Path, document: Any, private: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written aside and renamed: a reader never sees half a file.
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(document, indent=2, default=str), encoding="utf-8")
    if private:
        os.chmod(partial, 0o600)
    partial.replace(path)


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise LocalStackError(f"{path} is not valid JSON ({err}): {_RESTART}") from None


T = TypeVar("T")


def _build(cls: type[T], data: Any, path: Path) -> T:
    """`cls` from a JSON object, naming every missing, unknown or mistyped field."""
    if not isinstance(data, dict):
        raise LocalStackError(f"{path}: expected an object for {cls.__name__}, found {type(data).__name__}: {_RESTART}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    problems = [f"unknown field {name!r}" for name in data if name not in fields]
    values: dict[str, Any] = {}
    for name, field in fields.items():
        if name not in data:
            if field.default is dataclasses.MISSING:
                problems.append(f"missing field {name!r}")
            continue
        value, hint = data[name], hints[name]
        if dataclasses.is_dataclass(hint):
            value = _build(hint, value, path)
        elif not _matches(value, hint):
            problems.append(f"{name!r} is {value!r}, expected {hint}")
        values[name] = value
    if problems:
        raise LocalStackError(f"{path} ({cls.__name__}): {'; '.join(problems)}: {_RESTART}")
    return cls(**values)


def _matches(value: Any, hint: Any) -> bool:
    allowed = typing.get_args(hint) or (hint,)
    if value is None:
        return type(None) in allowed
    if isinstance(value, bool) and bool not in allowed:
        return False  # JSON true is not a port number
    return any(kind is not type(None) and isinstance(value, kind) for kind in allowed)
