"""The four checks, in order; the first failure stops the run with its diagnosis."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import botocore.exceptions
import snowflake.connector.errors

from local_stack.services.processes import wait_for  # the one way to poll with a deadline
from smoke import diagnosis
from smoke.canary import Canary, make_canary
from smoke.diagnosis import Finding
from smoke.target import Target

PIPE_STATUS = "pipe status"
CANARY = "canary put"
VISIBLE = "canary visible"
SUPERSET = "superset chart"
SUPERSET_WAIT_SECONDS = 15.0


@dataclass
class CheckResult:
    name: str
    passed: bool | None
    """None: not applicable (e.g. no Superset configured) or not run after an earlier failure."""
    seconds: float
    detail: str
    finding: Finding | None = None


@dataclass
class SmokeRun:
    target: Target
    results: list[CheckResult] = field(default_factory=list)
    latency_seconds: float | None = None

    @property
    def passed(self) -> bool:
        return all(r.passed is not False for r in self.results)

    @property
    def failure(self) -> CheckResult | None:
        return next((r for r in self.results if r.passed is False), None)


def pipe_status(cursor: Any, pipe: str) -> dict[str, Any]:
    cursor.execute("SELECT SYSTEM$PIPE_STATUS(%s)", (pipe,))
    return json.loads(cursor.fetchone()[0])


def _describe_status(status: dict[str, Any]) -> str:
    parts = [
        str(status.get("executionState")),
        f"pendingFileCount {status.get('pendingFileCount', '-')}",
        f"last error: {status.get('error') or 'none'}",
    ]
    if status.get("lastIngestedFilePath"):
        parts.append(f"last ingested {status['lastIngestedFilePath']} at {status.get('lastIngestedTimestamp')}")
    return "; ".join(parts)


def _visible(cursor: Any, view: str, event_id: str) -> bool:
    cursor.execute(f"SELECT PRODUCT_NAME, CUSTOMER_NAME FROM {view} WHERE EVENT_ID = %s", (event_id,))
    rows = cursor.fetchall()
    return any(product is not None and customer is not None for product, customer in rows)


def run(
    target: Target,
    *,
    make: Callable[[str], Canary] = make_canary,
    on_result: Callable[[CheckResult], None] = lambda _r: None,
) -> SmokeRun:
    """Runs the checks against `target`; `make` builds the canary (tests pass a broken one)."""
    outcome = SmokeRun(target)

    def record(result: CheckResult) -> CheckResult:
        outcome.results.append(result)
        on_result(result)
        return result

    started = time.monotonic()
    try:
        connection = target.connect()
    except Exception as err:  # the connector's errors, DNS, refused connections: all reported, none hidden
        record(CheckResult(PIPE_STATUS, False, time.monotonic() - started, f"cannot connect to Snowflake: {err}",
                           Finding(f"cannot connect to Snowflake: {err}", diagnosis.CONNECT_FIX)))  # fmt: skip
        return outcome
    try:
        cursor = connection.cursor()

        try:
            status = pipe_status(cursor, target.pipe)
        except snowflake.connector.errors.ProgrammingError as err:
            record(CheckResult(PIPE_STATUS, False, time.monotonic() - started, str(err),
                               diagnosis.pipe_status_error_finding(str(err), target.pipe)))  # fmt: skip
            return outcome
        finding = diagnosis.pipe_status_finding(status, target.pipe, local=target.local)
        if record(CheckResult(PIPE_STATUS, finding is None, time.monotonic() - started, _describe_status(status),
                              finding)).passed is False:  # fmt: skip
            return outcome

        canary = make(target.events_prefix)
        started = time.monotonic()
        try:
            target.s3.put_object(
                Bucket=target.bucket, Key=canary.key, Body=canary.body, ContentType="application/x-ndjson"
            )
        except botocore.exceptions.ClientError as err:
            record(CheckResult(CANARY, False, time.monotonic() - started, str(err),
                               Finding(f"cannot put the canary into s3://{target.bucket}/{canary.key}: {err}",
                                       "use AWS credentials that may s3:PutObject under the events prefix "
                                       "(the producer's permissions)")))  # fmt: skip
            return outcome
        put_done = time.monotonic()
        record(CheckResult(CANARY, True, put_done - started, f"{canary.key} (event_id {canary.event_id})"))

        try:
            wait_for(lambda: _visible(cursor, target.view, canary.event_id),
                     target.visibility_timeout - (put_done - started), "the canary in the view",
                     interval=target.poll_seconds, not_yet=())  # fmt: skip
        except snowflake.connector.errors.ProgrammingError as err:
            record(CheckResult(VISIBLE, False, time.monotonic() - started, str(err),
                               diagnosis.query_error_finding(str(err), local=target.local)))  # fmt: skip
            return outcome
        except TimeoutError:
            record(_diagnose_invisible(target, cursor, canary, time.monotonic() - started))
            return outcome
        outcome.latency_seconds = time.monotonic() - started
        record(CheckResult(VISIBLE, True, outcome.latency_seconds,
                           f"in {target.view.rsplit('.', 1)[-1].strip(chr(34))} with product and "
                           "customer joined"))  # fmt: skip
    finally:
        connection.close()

    if target.superset is None:
        record(CheckResult(SUPERSET, None, 0.0, "not configured (no dashboard_url): skipped"))
        return outcome
    from smoke.superset_check import SupersetCheckError, canary_count

    started = time.monotonic()
    # Seen locally: the first query right after the canary became visible counted 0 and
    # one a second later counted 1 (the chart's window ends at Superset's "now"), so ask
    # again, as the dashboard's next refresh would, until the deadline.
    answers: list[tuple[str, float]] = []

    def counted() -> float:
        answers.append(canary_count(target.superset, canary.event_id))
        return answers[-1][1]

    try:
        wait_for(counted, SUPERSET_WAIT_SECONDS, "the canary in the chart", interval=1.0, not_yet=())
    except TimeoutError:
        pass  # reported below with the last count
    except (SupersetCheckError, OSError) as err:
        record(CheckResult(SUPERSET, False, time.monotonic() - started, str(err),
                           Finding(f"Superset could not answer for the canary: {err}",
                                   "open the dashboard; `pulumi up` re-imports it when its bundle or credentials "
                                   "change")))  # fmt: skip
        return outcome
    chart, count = answers[-1]
    ok = count == 1
    record(CheckResult(
        SUPERSET, ok, time.monotonic() - started, f"{chart!r} counts {count:g} canary event(s) (expected 1)",
        None if ok else Finding(
            f"Snowflake has the canary but Superset's chart {chart!r} counts {count:g}",
            "the chart's dataset may point at another database or schema: re-run `pulumi up` to re-import it",
        ),
    ))  # fmt: skip
    return outcome


def _diagnose_invisible(target: Target, cursor: Any, canary: Canary, waited: float) -> CheckResult:
    history = target.load_history(cursor, canary.key)
    status = pipe_status(cursor, target.pipe)
    configuration = target.s3.get_bucket_notification_configuration(Bucket=target.bucket)
    finding = diagnosis.invisible_canary_finding(
        key=canary.key,
        history=history,
        notification=diagnosis.notification_finding(
            configuration, channel=target.notification_channel, key=canary.key, local=target.local
        ),
        status=status,
        pipe_finding=diagnosis.pipe_status_finding(status, target.pipe, local=target.local),
        view=target.view,
        local=target.local,
        storage_check=diagnosis.storage_check_sql(target.storage_integration, target.bucket, canary.key),
    )
    seen = f"load history: {history[-1].status}" if history else "load history: never seen"
    return CheckResult(VISIBLE, False, waited, f"not in {target.view} after {waited:.1f} s; {seen}", finding)
