"""Error notifications: a skipped file publishes Snowflake's INGEST_FAILED_FILE message to the pipe's topic."""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

import pytest

from local_stack.services.processes import wait_for
from tests.e2e.conftest import LocalEnv, Worker
from tests.e2e.snowpipe_fixture import (
    LOAD_TIMEOUT,
    event,
    good,
    lines,
    put,
    settled,
)

pytestmark = pytest.mark.e2e


def test_skipped_file_publishes_snowflakes_error_notification_to_the_pipes_topic(
    env: LocalEnv, worker: Worker, db: Any
) -> None:
    """The documented INGEST_FAILED_FILE message reaches an SQS queue subscribed to the pipe's SNS topic."""
    # The topic the program's ErrorNotifications deployed into moto; the local
    # deploy hands it to the worker in pipes.json.
    topic = env.pipes[0].error_topic_arn
    assert topic, "the local deploy must record the pipe's error topic in pipes.json"
    sns, sqs = env.client("sns"), env.sqs
    inbox = sqs.create_queue(QueueName="snowpipe-errors-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)
    good_path = put(env, "notify/good.ndjson", lines(*good(2, "notify")))
    bad_path = put(env, "notify/bad.ndjson", lines(event(event_id="nt-1"), event(event_id="nt-2", quantity="x")))
    settled(env, db, good_path)
    settled(env, db, bad_path)
    received = wait_for(
        lambda: sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages"),
        LOAD_TIMEOUT,
        "an error notification",
    )
    time.sleep(1)  # anything else published for this folder would be here by now
    received += sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    messages = [json.loads(json.loads(m["Body"])["Message"]) for m in received]
    # Earlier tests' skipped files may still be published as this one starts: only this folder counts.
    mine = [m for m in messages if m["messages"][0]["fileName"].startswith("notify/")]
    assert len(mine) == 1, f"one notification, for the skipped file only: {mine}"
    message = mine[0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", message.pop("timestamp")), "ISO 8601 UTC"
    assert uuid.UUID(message.pop("messageId")), "a unique message id"
    pipe = env.pipes[0]
    assert message == {
        "version": "1.0",
        "messageType": "INGEST_FAILED_FILE",
        "accountName": "LOCAL",
        "pipeName": "ECOMMERCE_POC.ANALYTICS.ECOMMERCE_EVENTS_PIPE",
        "tableName": "ECOMMERCE_POC.ANALYTICS.ECOMMERCE_EVENTS",
        "stageLocation": pipe.stage_url,
        "messages": [{"fileName": "notify/bad.ndjson", "firstError": "Numeric value 'x' is not recognized"}],
    }, message
