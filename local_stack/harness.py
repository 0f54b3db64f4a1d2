"""A real local stack for the e2e tests and the benchmark: the local deploy on moto + fakesnow, worker apart.

`local_env` is the one place that builds the environment; tests/e2e and
bench/ both use it, so figures and tests see the same stack. It lives in
local_stack, not in a test conftest, so the benchmark imports no test code
(tests/test_program_requirements.py checks that).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local_stack import stack
from local_stack.services import endpoints as local_endpoints
from local_stack.services import processes
from local_stack.services.state import Endpoints, Pipe, read_pipes

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class LocalEnv:
    state_dir: Path
    endpoints: Endpoints
    pipes: list[Pipe]
    s3: Any
    sqs: Any

    @property
    def queue_url(self) -> str:
        return self.pipes[0].queue_url

    @property
    def bucket(self) -> str:
        return self.endpoints.bucket

    @property
    def prefix(self) -> str:
        return self.endpoints.events_prefix

    def connect(self) -> Any:
        return local_endpoints.connect_snowflake(self.endpoints, user="test")

    def client(self, service: str) -> Any:
        return local_endpoints.aws_client(self.endpoints, service)


@contextmanager
def local_env(state_dir: Path) -> Iterator[LocalEnv]:
    """The real local stack (`make local-up SUPERSET=0`), without its worker: callers run their own.

    The Pulumi program deployed on moto + fakesnow creates the bucket, its
    notification, the pipe's queue, tables, view and reference data, exactly
    as `make local-up` does.
    """
    settings = stack.LocalStackSettings(state_dir=state_dir, superset=False)
    endpoints = stack.up(settings, progress=lambda _message: None, start_worker=False)
    try:
        pipes = read_pipes(state_dir)
        yield LocalEnv(
            state_dir,
            endpoints,
            pipes,
            local_endpoints.aws_client(endpoints, "s3"),
            local_endpoints.aws_client(endpoints, "sqs"),
        )
    finally:
        stack.down(state_dir)


def start_worker(
    state_dir: Path, visibility_timeout: int = 2, extra_env: dict[str, str] | None = None
) -> processes.TrackedProcess:
    """The worker as `make local-up` starts it (a short visibility timeout, so redelivery tests run quickly)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", **(extra_env or {})}
    return stack.start_snowpipe_worker(
        state_dir, ["--visibility-timeout", str(visibility_timeout)], env=env, restart=True
    )


def stop_worker(state_dir: Path) -> None:
    processes.stop(state_dir, stack.WORKER)


def worker_log(state_dir: Path, whole: bool = False) -> str:
    path = state_dir / "snowpipe.log"
    if not path.exists():
        return "(no worker log)"
    text = path.read_text(errors="replace")
    return text if whole else text[-4000:]
