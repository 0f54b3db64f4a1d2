"""Starting, waiting for and stopping the local stack's processes (services/processes.py), on real children."""

from __future__ import annotations

import sys
import time

import pytest

from local_stack.errors import LocalStackError
from local_stack.services import processes

# Ignores SIGTERM, says so in its log once the handler is installed, then waits to be killed.
STUBBORN = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "print('ignoring SIGTERM', flush=True)\n"
    "time.sleep(120)\n"
)
POLITE = "import sys, time\nprint('running', flush=True)\ntime.sleep(120)\n"


def _start(tmp_path, name: str, code: str) -> processes.TrackedProcess:
    tracked = processes.start(tmp_path, name, [sys.executable, "-c", code], None)
    first_line = "ignoring SIGTERM" if "SIG_IGN" in code else "running"
    processes.wait_ready(tracked, lambda: first_line in open(tracked.log).read(), timeout=20)
    return tracked


def test_a_child_that_ignores_sigterm_is_sigkilled_and_reported(tmp_path):
    stubborn = _start(tmp_path, "stubborn", STUBBORN)
    started = time.monotonic()
    stopped = processes.stop_all(tmp_path, timeout=0.5)
    assert not processes.alive(stubborn.pid), "a child that ignores SIGTERM must be killed"
    assert stopped == [f"stubborn (pid {stubborn.pid}) SIGKILLed: still running 0.5 s after SIGTERM"], stopped
    assert time.monotonic() - started < 10, "SIGKILL must follow once the SIGTERM timeout has passed"
    assert processes.read_tracked(tmp_path) == [], "stopped processes are no longer tracked"


def test_a_child_that_honours_sigterm_is_stopped_without_sigkill(tmp_path):
    polite = _start(tmp_path, "polite", POLITE)
    stubborn = _start(tmp_path, "stubborn", STUBBORN)
    stopped = processes.stop_all(tmp_path, timeout=0.5)
    assert not processes.alive(polite.pid) and not processes.alive(stubborn.pid)
    # Newest first; only the stubborn one needed SIGKILL.
    assert stopped == [
        f"stubborn (pid {stubborn.pid}) SIGKILLed: still running 0.5 s after SIGTERM",
        f"polite (pid {polite.pid})",
    ]


def test_a_child_that_dies_while_starting_fails_with_its_log(tmp_path):
    tracked = processes.start(tmp_path, "crashing", [sys.executable, "-c", "raise SystemExit('bad config x1')"], None)
    with pytest.raises(LocalStackError, match=r"crashing exited during start-up(.|\n)*bad config x1"):
        processes.wait_ready(tracked, lambda: False, timeout=20)


def test_not_ready_in_time_names_the_process_and_its_log(tmp_path):
    tracked = _start(tmp_path, "slow", POLITE)
    try:
        with pytest.raises(LocalStackError, match=r"slow was not ready after 0 s; see .*slow\.log"):
            processes.wait_ready(tracked, lambda: False, timeout=0.3)
    finally:
        processes.stop_all(tmp_path, timeout=2)


def test_poll_until_treats_connection_errors_as_not_yet_and_other_errors_as_failures():
    answers = iter([ConnectionRefusedError(), False, True])

    def check() -> bool:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert processes.poll_until(check, timeout=5, interval=0.01) is True
    assert processes.poll_until(lambda: False, timeout=0.05, interval=0.01) is False

    def broken() -> bool:
        raise ValueError("not a startup error")

    with pytest.raises(ValueError, match="not a startup error"):
        processes.poll_until(broken, timeout=5, interval=0.01)


def test_wait_for_returns_the_value_and_names_what_it_waited_for_on_timeout():
    answers = iter([OSError("refused"), None, {"rows": 3}])

    def check():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert processes.wait_for(check, timeout=5, what="rows", interval=0.01) == {"rows": 3}

    def refusing():
        raise ConnectionRefusedError("port 1 refused")

    with pytest.raises(TimeoutError, match=r"^the server starting did not happen within 0.05 s \(last error: port 1"):
        processes.wait_for(refusing, timeout=0.05, what="the server starting", interval=0.01)
    with pytest.raises(KeyError):
        processes.wait_for(lambda: {}["x"], timeout=5, what="x", interval=0.01, not_yet=(OSError,))
