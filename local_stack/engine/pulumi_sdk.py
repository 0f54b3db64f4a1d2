"""Every use of the Pulumi Python SDK's internals, in one place: the local engine's adapter to the mock runtime.

The local deploy, preview and the tests run the program through the SDK's
mock runtime (`pulumi.runtime.set_mocks`), whose monitor is the one seam where
an engine can answer registrations. That seam is not public API. What this
module relies on, checked by tests/test_pulumi_sdk.py against the pinned SDK
(requirements.txt), so a `pulumi` bump that breaks it fails there first:

- `pulumi.runtime.mocks.MockMonitor`: its `resources` dict, `make_urn`,
  `RegisterResource(request)` and `ReadResource(request)` (a `.get()`; it
  hands the mocks `MockResourceArgs(custom=None, resource_id=<id>)`), and
  its nested `ResourceRegistration(urn, id, state)`;
- `pulumi.runtime.mocks._sync_await` to serialize outputs inside a monitor
  call, `pulumi.runtime.rpc.serialize_properties` /
  `deserialize_properties(struct, keep_unknowns)` and
  `pulumi.runtime.proto.resource_pb2.RegisterResourceResponse`;
- `pulumi.runtime.settings.ROOT` (a contextvar: the root stack of the last
  run, cleared so one process can run the program again) and
  `get_root_resource()`;
- in a dry run, an empty id or an output the monitor leaves out resolves
  as unknown (`pulumi/runtime/resource.py`: `is_known = bool(resp.id)`), and
  unknown inputs reach the monitor as `pulumi.output.Unknown`;
- every registration runs in the default executor of the loop
  `pulumi.runtime.sync_await._ensure_event_loop()` returns
  (`run_in_executor(None, ...)` in `pulumi/runtime/resource.py`), and
  `wait_for_rpcs` raises at the first failed one (it awaits the last
  registered first) while the others still run, or wait on the loop as
  tasks;
- `pulumi.runtime.resource._get_stack_trace()`, called by every registration
  for the source position the engine shows in its diagnostics, returns a
  `source_pb2.StackTrace`;
- a failed run leaves futures holding its exceptions that nobody awaits;
  asyncio reports each through that loop's exception handler when it is
  garbage-collected ("Future exception was never retrieved").
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from typing import Any

import pulumi
from pulumi.output import Unknown
from pulumi.runtime import resource as _resource
from pulumi.runtime import rpc
from pulumi.runtime import settings as _settings
from pulumi.runtime.mocks import MockMonitor, _sync_await
from pulumi.runtime.proto import resource_pb2, source_pb2
from pulumi.runtime.sync_await import _ensure_event_loop

__all__ = [
    "MockMonitor",
    "Unknown",
    "answer",
    "deserialize",
    "has_unknown",
    "in_flight_operations_finish",
    "reset_root",
    "root_outputs",
    "without_source_positions",
]


class _Registrations(ThreadPoolExecutor):
    """The loop's default executor, keeping the futures of the registrations still running."""

    def __init__(self) -> None:
        super().__init__(thread_name_prefix="registration")
        self._running: set[Future] = set()
        self._lock = threading.Lock()

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future = super().submit(fn, *args, **kwargs)
        with self._lock:
            self._running.add(future)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: Future) -> None:
        with self._lock:
            self._running.discard(future)

    def wait_running(self) -> None:
        with self._lock:
            running = list(self._running)
        wait(running)


_registrations = _Registrations()


@contextmanager
def in_flight_operations_finish() -> Iterator[None]:
    """On leaving, starts no new registration and waits for every one still running, as the engine does on a failure.

    Pulumi lets operations already in flight complete and starts no new ones (pulumi.com/blog, "Continue on Error in
    the Pulumi CLI"). The SDK raises at the first failed registration while the others go on in its executor's
    threads, and the ones still waiting on an output stay on the loop, to run when the next program run drives it.
    Left alone, either would create cloud objects after the deploy reported its failure, unrecorded.
    """
    loop = _ensure_event_loop()
    loop.set_default_executor(_registrations)
    loop.set_exception_handler(_report_without_traceback)
    try:
        yield
    finally:
        _cancel_pending(loop)
        _registrations.wait_running()


_log = logging.getLogger(__name__)


def _report_without_traceback(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """A failed run's unawaited futures, collected later, are logged without their traceback.

    asyncio's default handler logs the traceback, and on Python 3.11 formatting one parses source with `ast`
    (traceback's caret anchors). From a finalizer that parse can run inside another AST construction of the same
    thread, and CPython, which keeps one AST depth per interpreter, fails that one with "SystemError: AST constructor
    recursion depth mismatch" (python/cpython#106905); seen in a test worker. The run already raised its failure;
    these futures mostly carry the same exception, passed on to the outputs that depend on it.
    """
    if context.get("message", "").endswith("exception was never retrieved"):
        _log.debug("%s: %r", context["message"], context.get("exception"))
        return
    loop.default_exception_handler(context)


def _cancel_pending(loop: asyncio.AbstractEventLoop) -> None:
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


@contextmanager
def without_source_positions() -> Iterator[None]:
    """Registrations carry no source position while inside: the local engine never shows one.

    The SDK captures the stack of every resource it registers (traceback.extract_stack, each frame's source line
    read and turned into a file URI): a fifth of a program run's CPU under the mock runtime.
    """
    captured = _resource._get_stack_trace
    _resource._get_stack_trace = source_pb2.StackTrace
    try:
        yield
    finally:
        _resource._get_stack_trace = captured


def deserialize(struct: Any, keep_unknowns: bool = False) -> dict[str, Any]:
    """A registration's properties as Python values (secrets keep Pulumi's wrapper)."""
    return rpc.deserialize_properties(struct, keep_unknowns=keep_unknowns)


def answer(monitor: MockMonitor, urn: str, resource_id: str, outputs: dict[str, Any]):
    """Registers `outputs` for `urn` on the mock monitor and returns the response the SDK expects."""
    monitor.resources[urn] = MockMonitor.ResourceRegistration(urn, resource_id, outputs)
    struct = _sync_await(rpc.serialize_properties(outputs, {}))
    return resource_pb2.RegisterResourceResponse(urn=urn, id=resource_id, object=struct)


def has_unknown(value: Any) -> bool:
    if isinstance(value, Unknown):
        return True
    if isinstance(value, dict):
        return any(has_unknown(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(has_unknown(v) for v in value)
    return False


def reset_root() -> None:
    """Forget the root stack of an earlier run in this process."""
    _settings.ROOT.set(None)


def root_outputs() -> dict[str, pulumi.Output]:
    """The stack's exports as Outputs (registered on the root resource before the program ends)."""
    return {k: pulumi.Output.from_input(v) for k, v in _settings.get_root_resource().outputs.items()}
