"""Snowpipe error notifications (a pipe's ERROR_INTEGRATION) to the pipe's SNS topic in moto.

The message is the JSON object Snowflake documents for Snowpipe error
notifications ("Snowpipe error notifications", Error notification messages:
https://docs.snowflake.com/en/user-guide/data-load-snowpipe-errors): version
"1.0", a unique messageId, messageType INGEST_FAILED_FILE, an ISO-8601 UTC
timestamp, accountName (the account locator), pipeName and tableName fully
qualified, stageLocation (the stage's cloud URL, as STAGE_LOCATION in the copy
history) and messages[] of {fileName (path in the stage location, as
FILE_NAME in the copy history), firstError}. SNS delivers it as a string in
the notification's `Message` field. One message per skipped file, sent after
the batch commits: a rolled-back batch notifies nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from typing import Any

from local_stack.services.state import Pipe
from local_stack.snowpipe.copy_plan import parse_copy_target
from local_stack.snowpipe.load_history import FileOutcome

log = logging.getLogger(__name__)

# fakesnow has no account locator; Snowflake would send e.g. "AB12345".
LOCAL_ACCOUNT_LOCATOR = "LOCAL"


def error_message(pipe: Pipe, outcome: FileOutcome, now: dt.datetime | None = None) -> dict[str, Any]:
    """The documented INGEST_FAILED_FILE object for one skipped file."""
    now = now or dt.datetime.now(dt.UTC)
    prefix = f"s3://{pipe.bucket}/{pipe.prefix}"
    return {
        "version": "1.0",
        "messageId": str(uuid.uuid4()),
        "messageType": "INGEST_FAILED_FILE",
        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
        "accountName": LOCAL_ACCOUNT_LOCATOR,
        "pipeName": pipe.qualified_name.upper(),
        "tableName": parse_copy_target(pipe.copy_statement).upper(),
        "stageLocation": pipe.stage_url,
        "messages": [
            {
                "fileName": outcome.path.removeprefix(prefix),
                "firstError": outcome.error.reason if outcome.error else "",
            }
        ],
    }


class ErrorNotifier:
    """Publishes one INGEST_FAILED_FILE message per skipped file to the pipe's topic."""

    def __init__(self, sns: Any, pipe: Pipe):
        self.sns = sns
        self.pipe = pipe

    def publish(self, skipped: list[FileOutcome]) -> None:
        for outcome in skipped:
            message = error_message(self.pipe, outcome)
            try:
                self.sns.publish(TopicArn=self.pipe.error_topic_arn, Message=json.dumps(message))
            except Exception:
                # The load is committed either way; Snowflake, too, loads the
                # batch and reports failed deliveries separately
                # (NOTIFICATION_HISTORY). Logged loudly, never silent.
                log.exception(
                    "pipe %s: could not publish the error notification for %s to %s",
                    self.pipe.name,
                    outcome.path,
                    self.pipe.error_topic_arn,
                )
