"""Session fixtures for end-to-end tests: the local stack (local_stack/harness.py), its Snowpipe worker, Superset."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from local_stack import stack
from local_stack.emulators import snowflake_server
from local_stack.harness import ROOT, LocalEnv, local_env, start_worker, stop_worker, worker_log
from local_stack.services import processes
from local_stack.services.state import Endpoints
from tests.e2e.strict_target import Emulators

__all__ = ["ROOT", "LocalEnv", "Worker", "worker_log"]


@pytest.fixture(scope="session")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalEnv]:
    state_dir = tmp_path_factory.mktemp("local-state")
    with local_env(state_dir) as built:
        yield built


class Worker:
    """The local Snowpipe process of a session; tests may stop, restart or reconfigure it."""

    def __init__(self, state_dir: Path):
        self.state_dir = state_dir
        self.process = start_worker(state_dir)

    def stop(self) -> None:
        stop_worker(self.state_dir)

    def restart(self, extra_env: dict[str, str] | None = None) -> None:
        """Stopped and started again; returns once the new worker polls."""
        self.stop()
        self.process = start_worker(self.state_dir, extra_env=extra_env)

    def running(self) -> bool:
        return processes.alive(self.process.pid)


@pytest.fixture(scope="session")
def worker(env: LocalEnv) -> Iterator[Worker]:
    running = Worker(env.state_dir)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def user_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Endpoints]]:
    """The stack as `SUPERSET=0 make local-up` starts it (worker and task runner), once per session.

    For tests that leave it whole: what they change (a canary, a notification
    swapped and restored) no other user of it counts.
    """
    state_dir = tmp_path_factory.mktemp("user-stack")
    endpoints = stack.up(stack.LocalStackSettings(state_dir=state_dir, superset=False), progress=lambda _m: None)
    try:
        yield state_dir, endpoints
    finally:
        stack.down(state_dir)


@pytest.fixture(scope="module")
def db(env: LocalEnv) -> Iterator[Any]:
    """A cursor on the session stack's Snowflake (fakesnow)."""
    connection = env.connect()
    yield connection.cursor()
    connection.close()


@pytest.fixture(scope="session")
def superset_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The stack with Superset and seed events (tests/e2e/superset_stack.py), once per session."""
    from tests.e2e import superset_stack as superset

    state_dir = tmp_path_factory.mktemp("superset-stack")
    built = superset.build(state_dir)
    try:
        yield built
    finally:
        stack.down(state_dir)


@pytest.fixture(scope="module")
def snowflake_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """One fakesnow for a module's strict-target tests (a start costs a second of imports); `emulators` resets it."""
    state_dir = tmp_path_factory.mktemp("fakesnow")
    try:
        yield stack.snowflake_ready(stack.launch_snowflake(state_dir, processes.free_port(), allow_reset=True))
    finally:
        stack.down(state_dir)


@pytest.fixture(scope="module")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One moto for a module's strict-target tests; `emulators` empties it before each test."""
    state_dir = tmp_path_factory.mktemp("moto")
    try:
        yield stack.moto_ready(stack.launch_moto(state_dir, processes.free_port()))
    finally:
        stack.down(state_dir)


@pytest.fixture
def emulators(tmp_path: Path, moto_endpoint: str, snowflake_port: int) -> Iterator[Emulators]:
    """The strict local target (tests/e2e/strict_target.py): the module's moto and fakesnow, emptied for the test.

    moto is emptied with its reset API (docs.getmoto.org, "Moto API": POST /moto-api/reset resets every backend);
    fakesnow with ours, which also points its pipes and credit meter at the test's state dir.
    """
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=30).raise_for_status()
    requests.post(
        f"http://127.0.0.1:{snowflake_port}{snowflake_server.RESET_PATH}", json={"state_dir": str(tmp_path)}, timeout=30
    ).raise_for_status()
    try:
        yield Emulators(tmp_path, moto_endpoint, snowflake_port)
    finally:
        stack.down(tmp_path)
