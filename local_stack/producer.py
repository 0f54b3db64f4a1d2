"""Event producer: shopping sessions (local_stack/shopping.py) written to S3 as NDJSON.gz files.

    python -m local_stack.producer --state-dir .local --rate 200 --duration 60
    python -m local_stack.producer --bucket <stack output rawEventsBucket> --prefix events   # real AWS
    python -m local_stack.producer --mode streaming --state-dir .local   # Snowpipe Streaming (local_stack/streaming/)

The generator functions are importable: tests and benchmarks build files with
known content through them.
"""

from __future__ import annotations

import datetime as dt
import gzip
import itertools
import random
import time
import uuid
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from local_stack.errors import LocalStackError
from local_stack.services.state import Endpoints, read_endpoints
from local_stack.shopping import ShoppingSimulator


def ndjson(events: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(event) + b"\n" for event in events)


def ndjson_gz(events: list[dict[str, Any]]) -> bytes:
    # Level 6 is gzip's default; level 1 would be faster but files travel to S3.
    return gzip.compress(ndjson(events), compresslevel=6)


def object_key(prefix: str, when: dt.datetime, sequence: int, suffix: str = ".ndjson.gz") -> str:
    """Date-partitioned key: <prefix>/dt=YYYY-MM-DD/hour=HH/events-<time>-<seq>-<rand>.ndjson.gz."""
    stamp = when.strftime("%Y%m%dT%H%M%S")
    folder = f"dt={when:%Y-%m-%d}/hour={when:%H}"
    base = prefix.strip("/")
    name = f"events-{stamp}-{sequence:06d}-{uuid.uuid4().hex[:8]}{suffix}"
    return f"{base}/{folder}/{name}" if base else f"{folder}/{name}"


# --------------------------------------------------------------------------
# CLI


def _defaults_from_state(state_dir: Path) -> Endpoints:
    try:
        return read_endpoints(state_dir)
    except LocalStackError as err:
        raise typer.BadParameter(str(err), param_hint="--state-dir") from None


def _s3_client(endpoint_url: str | None, region: str | None) -> Any:
    import boto3

    if endpoint_url:
        # moto accepts any key; real AWS uses the default credential chain.
        return boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region or "us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
    return boto3.client("s3", region_name=region)


app = typer.Typer(add_completion=False, help="Send simulated shopping events to the raw events bucket.")


@app.command()
def produce(
    rate: Annotated[float, typer.Option(help="events per second")] = 100.0,
    duration: Annotated[float | None, typer.Option(help="seconds to run; default until Ctrl-C")] = None,
    bucket: Annotated[str | None, typer.Option(help="raw events bucket (default: from --state-dir)")] = None,
    prefix: Annotated[
        str | None, typer.Option(help="key prefix the pipe's stage watches (default: from --state-dir)")
    ] = None,
    endpoint_url: Annotated[str | None, typer.Option(help="S3 endpoint; omit for real AWS")] = None,
    state_dir: Annotated[
        Path | None, typer.Option(help="local stack state dir whose endpoints.json gives the defaults")
    ] = None,
    region: Annotated[str | None, typer.Option(help="AWS region")] = None,
    flush_rows: Annotated[int, typer.Option(help="write a file once this many events are buffered")] = 10_000,
    flush_seconds: Annotated[float, typer.Option(help="write a file at least this often")] = 1.0,
    seed: Annotated[int | None, typer.Option(help="random seed for repeatable event streams")] = None,
    mode: Annotated[str, typer.Option(help="files (S3 -> Snowpipe) or streaming (Snowpipe Streaming API)")] = "files",
    count: Annotated[int | None, typer.Option(help="streaming: stop once rows 0..count-1 are committed")] = None,
    channel: Annotated[str | None, typer.Option(help="streaming: channel name (default: events-<seed>)")] = None,
    account_url: Annotated[str | None, typer.Option(help="streaming: https://<account>.snowflakecomputing.com")] = None,
    account: Annotated[str | None, typer.Option(help="streaming: account identifier, e.g. ORG-ACCOUNT")] = None,
    user: Annotated[str | None, typer.Option(help="streaming: the stack output streaming_user")] = None,
    private_key_file: Annotated[Path | None, typer.Option(help="streaming: the user's PKCS#8 private key")] = None,
    pipe: Annotated[str | None, typer.Option(help="streaming: the stack output streaming_pipe")] = None,
    stalled_commit_seconds: Annotated[
        float, typer.Option(help="streaming: reopen and resend rows whose commit has not moved for this long")
    ] = 30.0,
) -> None:
    if mode not in ("files", "streaming"):
        raise typer.BadParameter("must be files or streaming", param_hint="--mode")
    if rate <= 0:
        raise typer.BadParameter("must be > 0", param_hint="--rate")
    if stalled_commit_seconds <= 0:
        raise typer.BadParameter("must be > 0", param_hint="--stalled-commit-seconds")
    if mode == "streaming":
        from local_stack.streaming_producer import run_cli

        run_cli(state_dir, rate, duration, count, seed, channel, account_url, account, user, private_key_file, pipe,
                stalled_commit_seconds)  # fmt: skip
        return
    from rich.console import Console
    from rich.live import Live
    from rich.table import Table

    if state_dir is not None:
        defaults = _defaults_from_state(state_dir)
        bucket = bucket or defaults.bucket
        prefix = prefix if prefix is not None else defaults.events_prefix
        endpoint_url = endpoint_url or defaults.s3_endpoint_url
        region = region or defaults.region
    if not bucket:
        raise typer.BadParameter(
            "no bucket: pass --state-dir .local for the local stack, or the stack's bucket output for real AWS",
            param_hint="--bucket",
        )
    prefix = prefix or "events"
    s3 = _s3_client(endpoint_url, region)
    simulator = ShoppingSimulator(seed=seed if seed is not None else random.SystemRandom().getrandbits(32))
    stream = simulator.events()
    console = Console()

    buffer: list[dict[str, Any]] = []
    sent = files = 0
    last_key = "-"
    started = time.monotonic()
    buffer_since = started
    owed = 0.0
    last_tick = started

    def flush() -> None:
        nonlocal buffer, files, sent, last_key, buffer_since
        if buffer:
            key = object_key(prefix, dt.datetime.now(dt.UTC), files)
            s3.put_object(Bucket=bucket, Key=key, Body=ndjson_gz(buffer), ContentType="application/x-ndjson")
            files += 1
            sent += len(buffer)
            last_key = key
            buffer = []
        buffer_since = time.monotonic()

    def view() -> Table:
        elapsed = max(time.monotonic() - started, 1e-9)
        table = Table(title=f"s3://{bucket}/{prefix} ({endpoint_url or 'AWS'})", show_header=False)
        table.add_row("events sent", f"{sent:,}")
        table.add_row("files written", f"{files:,}")
        table.add_row("rate", f"{sent / elapsed:,.0f} events/s (target {rate:,.0f})")
        table.add_row("buffered", f"{len(buffer):,}")
        table.add_row("last file", last_key)
        return table

    try:
        with Live(view(), console=console, refresh_per_second=4) as live:
            while duration is None or time.monotonic() - started < duration:
                now = time.monotonic()
                owed += (now - last_tick) * rate
                last_tick = now
                due = int(owed)
                owed -= due
                for event in itertools.islice(stream, due):
                    # Live events carry the wall clock, so dashboards move in real time.
                    event["event_timestamp"] = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")[:-6] + "Z"
                    buffer.append(event)
                if len(buffer) >= flush_rows or time.monotonic() - buffer_since >= flush_seconds:
                    flush()
                live.update(view())
                time.sleep(0.02)
            flush()
            live.update(view())
    except KeyboardInterrupt:
        flush()
    console.print(f"sent {sent:,} events in {files:,} files to s3://{bucket}/{prefix}")


if __name__ == "__main__":
    app()
