"""Shared test setup, and the guard that keeps `make test-fast` free of emulators.

A test that starts moto, fakesnow (even in process), Superset or a browser must be marked `emulator`
(or `e2e`); an unmarked one that tries is stopped with a message that says so.
"""

import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Substrings of a command line that start an emulator or the browser.
EMULATOR_COMMANDS = (
    "moto_server",
    "moto.server",
    "fakesnow",
    "local_stack.emulators.snowflake_server",
    "local_stack.emulators.moto_server",
    "local_stack.emulators.superset_server",
    "local_stack.cli",
    "superset",
    "gunicorn",
    "chromium",
    "chromedriver",
)
MARKED = ("emulator", "e2e", "cloud")


class EmulatorNotMarkedError(RuntimeError):
    pass


def _refuse(what: str, item: pytest.Item) -> None:
    raise EmulatorNotMarkedError(
        f"{item.nodeid} starts {what} but is not marked `emulator`: add `pytestmark = pytest.mark.emulator` "
        "so `make test-fast` leaves it out"
    )


@contextmanager
def _no_emulators(item: pytest.Item):
    if any(item.get_closest_marker(name) for name in MARKED):
        yield
        return
    import fakesnow
    from moto.server import ThreadedMotoServer

    popen_init, moto_start, fakesnow_patch = subprocess.Popen.__init__, ThreadedMotoServer.start, fakesnow.patch

    def guarded_popen(self, args, *a, **kw):
        line = " ".join(map(str, args)) if isinstance(args, list | tuple) else str(args)
        found = next((c for c in EMULATOR_COMMANDS if c in line), None)
        if found:
            _refuse(f"a process ({found})", item)
        popen_init(self, args, *a, **kw)

    def guarded_moto(self, *a, **kw):
        _refuse("an in-process moto server", item)

    def guarded_fakesnow(*a, **kw):
        _refuse("fakesnow (in process)", item)

    subprocess.Popen.__init__, ThreadedMotoServer.start, fakesnow.patch = guarded_popen, guarded_moto, guarded_fakesnow
    try:
        yield
    finally:
        subprocess.Popen.__init__, ThreadedMotoServer.start, fakesnow.patch = popen_init, moto_start, fakesnow_patch


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    with _no_emulators(item):
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    with _no_emulators(item):
        yield


# Under pytest-xdist (`make test`: -n 3 --dist loadgroup --no-loadscope-reorder) a group runs on one worker:
# each module's tests stay together, so module fixtures start once, and the tests of one session stack share
# that worker's stack (a session fixture is per worker: split over workers, a stack would start once on each).
# Longest first, so no worker is left with a long group at the end: the Superset stack's group, then every test
# that starts emulators, then the quick unit modules, which fill the gaps.
SESSION_STACKS = ("superset_stack", "user_stack", "env")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        stack = next((f for f in SESSION_STACKS if f in getattr(item, "fixturenames", ())), None)
        item.add_marker(pytest.mark.xdist_group(stack or item.module.__name__))

    def weight(item: pytest.Item) -> int:
        if "superset_stack" in getattr(item, "fixturenames", ()):
            return 0
        return 1 if any(item.get_closest_marker(name) for name in MARKED) else 2

    items.sort(key=weight)
