"""Starting, tracking and stopping the local stack's background processes.

Every process the stack starts is recorded (name, PID, port) in
<state dir>/processes.json, so `make local-down` stops exactly those, by PID,
and can check that their ports are free again.

Waiting (readiness, exit, free ports) is tenacity's polling with a deadline.
Starting and stopping stay ours: each process runs in its own session and is
stopped with its whole group by PID recorded in a file, across separate CLI
invocations, which is all psutil or mirakuru would add here.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tenacity import Retrying, retry_if_result, stop_after_delay, wait_fixed

from local_stack.errors import LocalStackError

PROCESSES_FILE = "processes.json"


@dataclass
class TrackedProcess:
    name: str
    pid: int
    port: int | None
    log: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        # Connections left in TIME_WAIT by a stopped server do not make the
        # port busy: servers bind with SO_REUSEADDR, and so does this probe.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def choose_port(requested: int, variable: str, what: str) -> int:
    """`requested` if free (0 picks any free port); a clear error if it is taken."""
    if requested == 0:
        return free_port()
    if not port_is_free(requested):
        raise LocalStackError(
            f"port {requested} for {what} is already in use on 127.0.0.1: stop what uses it "
            f"(`make local-down` if it is an earlier stack) or choose another with {variable}=<port> "
            "(0 = any free port)"
        )
    return requested


def read_tracked(state_dir: Path) -> list[TrackedProcess]:
    path = state_dir / PROCESSES_FILE
    if not path.exists():
        return []
    return [TrackedProcess(**entry) for entry in json.loads(path.read_text())]


def _write_tracked(state_dir: Path, tracked: list[TrackedProcess]) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / PROCESSES_FILE).write_text(json.dumps([asdict(t) for t in tracked], indent=2))


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child is gone for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except OSError:
        return True


def start(
    state_dir: Path, name: str, command: list[str], port: int | None, env: dict | None = None, append: bool = False
) -> TrackedProcess:
    """Starts `command` in its own session (so it can be stopped with its children), logging to <state dir>/<name>.log.

    `env` is the child's whole environment (default: this process's). `append` keeps the log of an earlier
    run of the same process (a restart), which is otherwise started afresh.
    """
    log_path = state_dir / f"{name}.log"
    with open(log_path, "ab" if append else "wb") as log:
        try:
            process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env=env if env is not None else dict(os.environ),
            )
        except FileNotFoundError as err:
            raise LocalStackError(
                f"cannot start {name}: {command[0]} not found. Run `make setup` to install the local stack's tools"
            ) from err
    return _track(state_dir, name, process.pid, port, str(log_path))


def _track(state_dir: Path, name: str, pid: int, port: int | None, log: str) -> TrackedProcess:
    """Records a started process so `down` stops it."""
    tracked = TrackedProcess(name=name, pid=pid, port=port, log=log)
    _write_tracked(state_dir, [*read_tracked(state_dir), tracked])
    return tracked


def wait_for(
    check: Callable[[], Any],
    timeout: float,
    what: str,
    interval: float = 0.1,
    not_yet: tuple[type[BaseException], ...] = (Exception,),
) -> Any:
    """The one way the local stack waits: calls check() every `interval` s until it returns something truthy.

    Returns that value; an exception of a `not_yet` type counts as "not yet" (a server still starting),
    any other propagates. After `timeout` s raises TimeoutError naming `what` and the last such error.
    """
    errors: list[BaseException] = []

    def attempt() -> Any:
        try:
            return check()
        except not_yet as err:
            errors.append(err)
            return None

    retrying = Retrying(
        stop=stop_after_delay(timeout),
        wait=wait_fixed(interval),
        retry=retry_if_result(lambda result: not result),
        retry_error_callback=lambda _state: None,
    )
    result = retrying(attempt)
    if not result:
        last = f" (last error: {errors[-1]})" if errors else ""
        raise TimeoutError(f"{what} did not happen within {timeout} s{last}")
    return result


def poll_until(check: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    """wait_for() as a bool, for callers that report a timeout themselves; only OSError counts as "not yet"."""
    try:
        return bool(wait_for(check, timeout, "the check", interval, not_yet=(OSError,)))
    except TimeoutError:
        return False


def http_ok(url: str, timeout: float = 2.0) -> bool:
    """True when GET url answers 200 (a readiness probe: /health, /moto-api/)."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status == 200


def wait_ready(tracked: TrackedProcess, ready: Callable[[], bool], timeout: float) -> None:
    def started() -> bool:
        if not alive(tracked.pid):
            raise LocalStackError(
                f"{tracked.name} exited during start-up; last lines of {tracked.log}:\n{tail(tracked.log)}"
            )
        return ready()

    if not poll_until(started, timeout):
        raise LocalStackError(
            f"{tracked.name} was not ready after {timeout:.0f} s; see {tracked.log}:\n{tail(tracked.log)}"
        )


def tail(path: str, lines: int = 15) -> str:
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _terminate(process: TrackedProcess, timeout: float) -> str | None:
    """SIGTERM to its process group, SIGKILL `timeout` s later; what happened, or None when it was not running.

    A process still running after SIGTERM is killed, and the returned line
    says so: a server that ignores SIGTERM is a bug to see.
    """
    if not alive(process.pid):
        return None
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return None
    if poll_until(lambda pid=process.pid: not alive(pid), timeout):
        return f"{process.name} (pid {process.pid})"
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    if not poll_until(lambda pid=process.pid: not alive(pid), 5.0):
        raise LocalStackError(f"{process.name} (pid {process.pid}) survived SIGKILL; stop it by hand")
    return f"{process.name} (pid {process.pid}) SIGKILLed: still running {timeout:g} s after SIGTERM"


def stop(state_dir: Path, name: str, timeout: float = 15.0) -> bool:
    """Stops the tracked process called `name` and forgets it; False when none was running."""
    tracked = read_tracked(state_dir)
    stopped = [line for line in (_terminate(p, timeout) for p in tracked if p.name == name) if line]
    _write_tracked(state_dir, [p for p in tracked if p.name != name])
    return bool(stopped)


def stop_all(state_dir: Path, timeout: float = 15.0) -> list[str]:
    """Stops every tracked process group (SIGTERM, then SIGKILL), newest first; returns what was stopped."""
    tracked = read_tracked(state_dir)
    stopped = [line for line in (_terminate(p, timeout) for p in reversed(tracked)) if line]
    busy = [p for p in tracked if p.port and not poll_until(lambda port=p.port: port_is_free(port), 5.0)]
    if busy:
        raise LocalStackError(
            "stopped the stack but these ports are still in use: " + ", ".join(f"{p.port} ({p.name})" for p in busy)
        )
    _write_tracked(state_dir, [])
    return stopped


def stop_on_signals(log: logging.Logger, finishing: str) -> threading.Event:
    """An event set by SIGTERM or SIGINT, so a long-running worker finishes `finishing` and exits cleanly."""
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        log.info("received %s, finishing %s", signal.Signals(signum).name, finishing)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    return stop
