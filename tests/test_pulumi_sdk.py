"""The local engine's adapter (local_stack/engine/pulumi_sdk.py) against the pinned SDK, and how run_program uses it."""

from __future__ import annotations

import time

import pulumi
import pytest

from local_stack.engine import pulumi_sdk
from local_stack.engine.program_runner import RecordingMonitor


class Thing(pulumi.CustomResource):
    def __init__(self, name: str, props: dict, opts: pulumi.ResourceOptions | None = None):
        super().__init__("test:index:Thing", name, props, opts)


class Answers(pulumi.runtime.Mocks):
    """Answers creates with no id and only the inputs (a dry run's planned state); reads with their id."""

    def __init__(self) -> None:
        self.reads: list[tuple[str, str | None, bool | None]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        if args.custom is None:
            self.reads.append((args.name, args.resource_id, args.custom))
            return args.resource_id, {"size": "read"}
        return "", dict(args.inputs)

    def call(self, args):
        return {}, []


def _run(program, preview: bool) -> tuple[RecordingMonitor, Answers]:
    pulumi_sdk.reset_root()
    answers = Answers()
    monitor = RecordingMonitor(answers)
    pulumi.runtime.set_mocks(answers, project="p", stack="s", preview=preview, monitor=monitor)
    pulumi.runtime.test(program)()
    return monitor, answers


def test_a_dry_run_leaves_an_empty_id_and_left_out_outputs_unknown_and_the_monitor_sees_unknown_inputs():
    seen = {}

    def program():
        made = Thing("made", {"name": "A", "size": None})
        Thing("user", {"uses": made.id, "also": made.size, "known": made.name})
        return pulumi.Output.all(made.id.is_known(), made.name.is_known()).apply(lambda k: seen.update(known=k))

    monitor, _ = _run(program, preview=True)
    assert seen["known"] == [False, True], "id unknown (is_known = bool(resp.id)), a planned input known"
    user = next(r for r in monitor.registrations.values() if r.name == "user")
    assert isinstance(user.inputs["uses"], pulumi_sdk.Unknown)
    assert pulumi_sdk.has_unknown(user.inputs) and user.inputs["known"] == "A"


def test_a_read_reaches_the_mocks_with_custom_none_and_its_id_and_is_recorded_as_external():
    def program():
        # What `<Resource>.get(name, id)` does: a resource with an id in its options is read, not created.
        Thing("existing", {}, pulumi.ResourceOptions(id="WH_1"))

    monitor, answers = _run(program, preview=False)
    assert answers.reads == [("existing", "WH_1", None)]
    [read] = [r for r in monitor.registrations.values() if r.name == "existing"]
    assert read.external and read.outputs == {"size": "read"}


def test_answer_registers_outputs_the_program_reads_back():
    class Keeping(RecordingMonitor):
        def RegisterResource(self, request):  # noqa: N802
            if request.type == "test:index:Thing":
                urn = self.make_urn(request.parent, request.type, request.name)
                return pulumi_sdk.answer(self, urn, "kept-id", {"size": "from state"})
            return super().RegisterResource(request)

    seen = {}

    def program():
        thing = Thing("t", {"size": None})
        return pulumi.Output.all(thing.id, thing.size).apply(lambda v: seen.update(v=v))

    pulumi_sdk.reset_root()
    answers = Answers()
    pulumi.runtime.set_mocks(answers, project="p", stack="s", preview=False, monitor=Keeping(answers))
    pulumi.runtime.test(program)()
    assert seen["v"] == ["kept-id", "from state"]


def test_reset_root_lets_one_process_run_the_program_twice():
    def program():
        pulumi.export("x", 1)

    _run(program, preview=False)
    _run(program, preview=False)
    outputs = {}

    def again():
        pulumi.export("y", 2)
        return pulumi.Output.all(**pulumi_sdk.root_outputs()).apply(outputs.update)

    _run(again, preview=False)
    assert outputs == {"y": 2}, "the root stack of the earlier runs is gone"


@pytest.mark.parametrize("value", [pulumi_sdk.Unknown(), {"a": [1, pulumi_sdk.Unknown()]}])
def test_has_unknown_looks_inside(value):
    assert pulumi_sdk.has_unknown(value)
    assert not pulumi_sdk.has_unknown({"a": [1, "b"]})


def test_a_failed_registration_lets_the_ones_in_flight_finish_before_it_is_reported():
    """Seen in `make test`: a strict-target deploy failed, and its IAM role was created afterwards, in the next
    test's account."""
    finished: list[str] = []

    class SlowAndFailing(Answers):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs):
            if args.name == "refused":
                raise RuntimeError("refused by the cloud")
            time.sleep(0.5)
            finished.append(args.name)
            return "id-1", dict(args.inputs)

    def program():
        Thing("slow", {})
        Thing("refused", {})

    pulumi_sdk.reset_root()
    answers = SlowAndFailing()
    pulumi.runtime.set_mocks(answers, project="p", stack="s", preview=False, monitor=RecordingMonitor(answers))
    with pytest.raises(Exception, match="refused by the cloud"), pulumi_sdk.in_flight_operations_finish():
        pulumi.runtime.test(program)()
    assert finished == ["slow"], "the registration in flight must have finished when the failure is reported"

    # Seen in a fresh clone's make test: an executor shut down at the end left the next run in the process unable
    # to register anything.
    monitor, _ = _run(lambda: Thing("after", {}), preview=False)
    assert [r.name for r in monitor.registrations.values() if r.name == "after"] == ["after"]


def test_a_registration_still_waiting_on_an_output_when_the_run_fails_is_never_started():
    """Seen in a fresh clone's make test: a failed deploy's registration that waited on an output ran in the next
    program run of the worker, and created its IAM role in the next test's account."""
    started: list[str] = []

    class Failing(Answers):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs):
            started.append(args.name)
            if args.name == "refused":
                raise RuntimeError("refused by the cloud")
            time.sleep(0.3)
            return "id-1", dict(args.inputs)

    def program():
        slow = Thing("slow", {})
        Thing("waiting", {"on": slow.id})
        Thing("refused", {})  # the SDK awaits the last registration first: its failure is reported at once

    pulumi_sdk.reset_root()
    answers = Failing()
    pulumi.runtime.set_mocks(answers, project="p", stack="s", preview=False, monitor=RecordingMonitor(answers))
    with pytest.raises(Exception, match="refused by the cloud"), pulumi_sdk.in_flight_operations_finish():
        pulumi.runtime.test(program)()
    monitor, _ = _run(lambda: Thing("next", {}), preview=False)
    assert sorted(started) == ["refused", "slow"]
    assert [r.name for r in monitor.registrations.values() if r.custom] == ["next"]


def test_without_source_positions_registrations_carry_no_stack_and_the_capture_comes_back_after():
    class Traces(RecordingMonitor):
        def __init__(self, mocks):
            super().__init__(mocks)
            self.frames: list[int] = []

        def RegisterResource(self, request):  # noqa: N802
            if request.type == "test:index:Thing":
                self.frames.append(len(request.stackTrace.frames))
            return super().RegisterResource(request)

    def run() -> list[int]:
        pulumi_sdk.reset_root()
        answers = Answers()
        monitor = Traces(answers)
        pulumi.runtime.set_mocks(answers, project="p", stack="s", preview=False, monitor=monitor)
        pulumi.runtime.test(lambda: Thing("t", {}))()
        return monitor.frames

    [captured] = run()
    assert captured > 0, "the SDK captures the stack of each registration: the adapter's patch target moved"
    with pulumi_sdk.without_source_positions():
        assert run() == [0]
    assert run() == [captured]


def test_a_program_run_collects_young_garbage_less_often_and_gives_the_process_its_thresholds_back(tmp_path):
    import gc

    from local_stack.engine.planned_cloud import PlannedCloud
    from local_stack.engine.program_runner import RUN_GC_THRESHOLD, run_program

    (tmp_path / "Pulumi.yaml").write_text("name: p\nruntime: python\n")
    (tmp_path / "Pulumi.s.yaml").write_text("config: {}\n")
    (tmp_path / "__main__.py").write_text("import gc\nimport pulumi\npulumi.export('young', gc.get_threshold()[0])\n")
    before = gc.get_threshold()
    run = run_program(PlannedCloud(), "s", project_dir=tmp_path)
    assert run.exports["young"] == RUN_GC_THRESHOLD > before[0]
    assert gc.get_threshold() == before


def test_a_failed_run_s_unawaited_futures_are_reported_without_formatting_a_traceback(caplog):
    """Seen in a test worker: a finalizer's traceback, formatted during a garbage collection, parsed source with `ast`
    inside another AST construction (python/cpython#106905). asyncio reports an unawaited failed future through the
    loop's exception handler when it is collected; this asks that handler as asyncio does."""
    import asyncio
    import logging

    with pulumi_sdk.in_flight_operations_finish():
        loop = asyncio.get_event_loop()
    caplog.set_level(logging.DEBUG)
    failed = RuntimeError("refused by the cloud")
    loop.call_exception_handler({"message": "Task exception was never retrieved", "exception": failed})
    (record,) = [r for r in caplog.records if "never retrieved" in r.getMessage()]
    assert record.exc_info is None, "a traceback formatted from a finalizer"
    assert "refused by the cloud" in record.getMessage()
    loop.call_exception_handler({"message": "Exception in callback", "exception": failed})
    assert [r.exc_info is not None for r in caplog.records if "Exception in callback" in r.getMessage()] == [True], (
        "asyncio's other reports keep their default handling"
    )
