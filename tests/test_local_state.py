"""Typed local state (local_stack/services/state.py): what a reader gets, and how a bad file is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local_stack.errors import LocalStackError
from local_stack.services import state

README_EXAMPLE = {
    "s3_endpoint_url": "http://127.0.0.1:41235",
    "region": "us-east-1",
    "bucket": "ecommerce-raw-events-local",
    "events_prefix": "events/",
    "snowflake": {"host": "127.0.0.1", "port": 39851, "protocol": "http", "database": "ECOMMERCE_POC",
                  "schema": "ANALYTICS"},
    "superset_url": "http://127.0.0.1:8088",
    "superset_username": "admin",
    "superset_password": "generated",
}  # fmt: skip

PIPE = {
    "name": "ECOMMERCE_EVENTS_PIPE",
    "database": "ECOMMERCE_POC",
    "schema": "ANALYTICS",
    "copy_statement": "COPY INTO ECOMMERCE_EVENTS FROM (SELECT $1 FROM @EVENTS_STAGE)",
    "auto_ingest": True,
    "queue_url": "http://127.0.0.1:1/123456789012/sf-snowpipe-x",
    "queue_arn": "arn:aws:sqs:us-east-1:123456789012:sf-snowpipe-x",
    "stage_name": "ECOMMERCE_POC.ANALYTICS.EVENTS_STAGE",
    "stage_url": "s3://ecommerce-raw-events-local/events",
}


def _write(tmp_path: Path, name: str, document: object) -> Path:
    (tmp_path / name).write_text(json.dumps(document))
    return tmp_path


def test_the_readme_example_reads_as_typed_endpoints(tmp_path):
    endpoints = state.read_endpoints(_write(tmp_path, "endpoints.json", README_EXAMPLE))
    assert endpoints.snowflake.port == 39851
    assert endpoints.snowflake.database == "ECOMMERCE_POC"
    assert endpoints.superset_username == "admin"
    assert endpoints.dashboard_url is None


def test_pipe_record_answers_bucket_prefix_and_name(tmp_path):
    (pipe,) = state.read_pipes(_write(tmp_path, "pipes.json", {"pipes": [PIPE]}))
    assert pipe.bucket == "ecommerce-raw-events-local"
    assert pipe.prefix == "events/"
    assert pipe.qualified_name == "ECOMMERCE_POC.ANALYTICS.ECOMMERCE_EVENTS_PIPE"
    assert pipe.compression == "AUTO"


def test_written_endpoints_file_is_private_and_in_the_documented_layout(tmp_path):
    endpoints = state.read_endpoints(_write(tmp_path, "endpoints.json", README_EXAMPLE))
    out = tmp_path / "out"
    path = state.write_endpoints(out, endpoints)
    assert path.stat().st_mode & 0o777 == 0o600
    assert json.loads(path.read_text()) == {**README_EXAMPLE, "dashboard_url": None}


def test_missing_file_says_how_to_start_the_stack(tmp_path):
    with pytest.raises(LocalStackError, match=r"endpoints.json is missing.*make local-up"):
        state.read_endpoints(tmp_path)
    with pytest.raises(LocalStackError, match=r"pipes.json is missing.*make local-up"):
        state.read_pipes(tmp_path)


def test_stale_file_is_refused_naming_every_field(tmp_path):
    old_layout = {k: v for k, v in PIPE.items() if k not in ("stage_name", "stage_url")}
    old_layout["stage"] = {"name": "S", "url": "s3://b/events/"}
    with pytest.raises(LocalStackError) as caught:
        state.read_pipes(_write(tmp_path, "pipes.json", {"pipes": [old_layout]}))
    message = str(caught.value)
    assert "unknown field 'stage'" in message
    assert "missing field 'stage_name'" in message and "missing field 'stage_url'" in message
    assert "make local-down && make local-up" in message


def test_mistyped_field_is_named(tmp_path):
    document = {**README_EXAMPLE, "snowflake": {**README_EXAMPLE["snowflake"], "port": "39851"}}
    with pytest.raises(LocalStackError, match=r"SnowflakeEndpoint.*'port' is '39851', expected <class 'int'>"):
        state.read_endpoints(_write(tmp_path, "endpoints.json", document))
    with pytest.raises(LocalStackError, match=r"'auto_ingest' is 1"):
        state.read_pipes(_write(tmp_path, "pipes.json", {"pipes": [{**PIPE, "auto_ingest": 1}]}))


def test_not_json_is_refused(tmp_path):
    (tmp_path / "endpoints.json").write_text("{")
    with pytest.raises(LocalStackError, match="not valid JSON"):
        state.read_endpoints(tmp_path)


def test_emulated_region_is_the_local_stacks_aws_region(tmp_path, monkeypatch):
    from local_stack import stack

    (tmp_path / "Pulumi.local.yaml").write_text("config:\n  aws:region: eu-west-1\n")
    monkeypatch.setattr(stack, "PROJECT_DIR", tmp_path)
    assert stack.stack_region() == "eu-west-1"
    (tmp_path / "Pulumi.local.yaml").write_text("config:\n  ecommerce-analytics:eventsPrefix: events/\n")
    with pytest.raises(LocalStackError, match=r"Pulumi.local.yaml sets no aws:region"):
        stack.stack_region()
