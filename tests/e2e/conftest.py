"""A real local stack for end-to-end tests: moto and fakesnow servers plus the Snowpipe worker.

`local_env` is the one place that builds the environment (servers, bucket,
queue, notification, tables, view, reference data, pipes.json and
endpoints.json). The local deploy will replace its setup half; the benchmark
(bench/bench_pipeline.py) reuses it so figures and tests see the same stack.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import snowflake.connector
import sqlglot

from infra import sql_source

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DATABASE = "ECOMMERCE_POC"
SCHEMA = "ANALYTICS"
BUCKET = "raw-events-local"
EVENTS_PREFIX = "events/"
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = predicate()
            if result:
                return result
        except Exception as err:  # a server still starting refuses connections
            last_error = err
        time.sleep(interval)
    raise TimeoutError(f"{what} did not happen within {timeout} s (last error: {last_error})")


@contextmanager
def server_process(command: list[str], log_path: Path) -> Iterator[subprocess.Popen]:
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield process
    finally:
        stop_process(process)


def stop_process(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
    if process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class LocalEnv:
    state_dir: Path
    endpoints: dict[str, Any]
    pipes: dict[str, Any]
    s3: Any
    sqs: Any

    @property
    def queue_url(self) -> str:
        return self.pipes["pipes"][0]["queue_url"]

    @property
    def bucket(self) -> str:
        return self.endpoints["bucket"]

    @property
    def prefix(self) -> str:
        return self.endpoints["events_prefix"]

    def connect(self) -> Any:
        sf = self.endpoints["snowflake"]
        return snowflake.connector.connect(
            host=sf["host"],
            port=sf["port"],
            protocol="http",
            user="test",
            password="test",
            account="local",
            database=sf["database"],
            schema=sf["schema"],
            session_parameters={"CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False},
        )


def _aws(service: str, endpoint: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def _reference_insert(table: str, csv_path: Path) -> str:
    with open(csv_path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    numeric = {"PRODUCT_ID", "CUSTOMER_ID", "PRICE"}
    values = []
    for row in body:
        items = [
            value if name.upper() in numeric else sqlglot.exp.Literal.string(value).sql("snowflake")
            for name, value in zip(header, row, strict=True)
        ]
        values.append(f"({', '.join(items)})")
    return f"INSERT INTO {table} ({', '.join(header)}) VALUES {', '.join(values)}"


@contextmanager
def local_env(state_dir: Path) -> Iterator[LocalEnv]:
    """Servers on free ports and everything the pipe needs, described in state_dir."""
    state_dir.mkdir(parents=True, exist_ok=True)
    moto_port, fakesnow_port = free_port(), free_port()
    moto = [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)]
    fakesnow = [str(BIN / "fakesnow"), "-s", "--host", "127.0.0.1", "-p", str(fakesnow_port)]
    with (
        server_process(moto, state_dir / "moto.log"),
        server_process(fakesnow, state_dir / "fakesnow.log"),
    ):
        endpoint = f"http://127.0.0.1:{moto_port}"
        wait_until(lambda: urllib.request.urlopen(f"{endpoint}/moto-api/").status == 200, 30, "moto_server start")
        s3, sqs = _aws("s3", endpoint), _aws("sqs", endpoint)
        s3.create_bucket(Bucket=BUCKET)
        queue_url = sqs.create_queue(QueueName="sf-snowpipe-local-events")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        s3.put_bucket_notification_configuration(
            Bucket=BUCKET,
            NotificationConfiguration={
                "QueueConfigurations": [
                    {
                        "QueueArn": queue_arn,
                        "Events": ["s3:ObjectCreated:*"],
                        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": EVENTS_PREFIX}]}},
                    }
                ]
            },
        )
        # S3 announces a new notification configuration with s3:TestEvent; the
        # worker must ignore it, so it stays in the queue on purpose.

        snowflake_endpoint = {
            "host": "127.0.0.1",
            "port": fakesnow_port,
            "protocol": "http",
            "database": DATABASE,
            "schema": SCHEMA,
        }

        def connect() -> Any:
            return snowflake.connector.connect(
                host="127.0.0.1", port=fakesnow_port, protocol="http", user="t", password="t", account="local"
            )

        connection = wait_until(connect, 30, "fakesnow server start", interval=0.2)
        namespace = sql_source.Namespace(DATABASE, SCHEMA)
        with connection:
            cursor = connection.cursor()
            cursor.execute(f"CREATE DATABASE IF NOT EXISTS {DATABASE}")
            cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {DATABASE}.{SCHEMA}")
            cursor.execute(f"USE SCHEMA {DATABASE}.{SCHEMA}")
            for statement in sqlglot.parse((ROOT / "sql" / "table_ddl.sql").read_text(), read="snowflake"):
                cursor.execute(statement.sql("snowflake"))
            view_name, view_select = sql_source.view_statement(namespace)
            cursor.execute(f"CREATE OR REPLACE VIEW {namespace.qualify(view_name)} AS {view_select}")
            for table, csv_name in (("PRODUCTS", "products.csv"), ("CUSTOMERS", "customers.csv")):
                cursor.execute(_reference_insert(namespace.qualify(table), ROOT / "reference_data" / csv_name))

        endpoints = {
            "s3_endpoint_url": endpoint,
            "region": REGION,
            "bucket": BUCKET,
            "events_prefix": EVENTS_PREFIX,
            "snowflake": snowflake_endpoint,
        }
        pipes = {
            "pipes": [
                {
                    "name": sql_source.pipe_name(),
                    "database": DATABASE,
                    "schema": SCHEMA,
                    "copy_statement": sql_source.pipe_copy_statement(namespace, "EVENTS_STAGE", "JSON_EVENTS"),
                    "queue_url": queue_url,
                    "queue_arn": queue_arn,
                    "stage": {"name": namespace.qualify("EVENTS_STAGE"), "url": f"s3://{BUCKET}/{EVENTS_PREFIX}"},
                    "file_format": {"name": namespace.qualify("JSON_EVENTS"), "type": "JSON", "compression": "AUTO"},
                }
            ]
        }
        (state_dir / "endpoints.json").write_text(json.dumps(endpoints, indent=2))
        (state_dir / "pipes.json").write_text(json.dumps(pipes, indent=2))
        yield LocalEnv(state_dir, endpoints, pipes, s3, sqs)


def start_worker(state_dir: Path, visibility_timeout: int = 2) -> subprocess.Popen:
    """The worker as `make local-up` runs it: its own process, logging to state_dir."""
    log = open(state_dir / "snowpipe.log", "ab")  # the child process keeps its own handle
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    command = [
        sys.executable,
        "-m",
        "local_stack.snowpipe",
        "--state-dir",
        str(state_dir),
        "--visibility-timeout",
        str(visibility_timeout),
    ]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
    log.close()
    return process


def worker_log(state_dir: Path) -> str:
    path = state_dir / "snowpipe.log"
    return path.read_text(errors="replace")[-4000:] if path.exists() else "(no worker log)"


@pytest.fixture(scope="session")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalEnv]:
    state_dir = tmp_path_factory.mktemp("local-state")
    with local_env(state_dir) as built:
        yield built


class Worker:
    """The local Snowpipe process of a session; tests may kill and restart it."""

    def __init__(self, state_dir: Path):
        self.state_dir = state_dir
        self.process = start_worker(state_dir)

    def restart(self) -> None:
        stop_process(self.process)
        self.process = start_worker(self.state_dir)


@pytest.fixture(scope="session")
def worker(env: LocalEnv) -> Iterator[Worker]:
    running = Worker(env.state_dir)
    yield running
    stop_process(running.process)
