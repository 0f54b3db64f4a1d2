"""`python -m local_stack.emulators.moto_server -H HOST -p PORT`: moto's own server, with two SQS hot spots made cheap.

moto 5.2.5's ReceiveMessage costs grow with the queue's depth, so a backlog
fed on itself (the pipe fell further behind the more it had to do):
* for every message it returns, `is_message_valid_based_on_retention_period`
  asks `get_queue_attributes` for MessageRetentionPeriod, which computes
  every attribute, three of them by walking every queued message: quadratic
  (measured 29 messages/s drained from a 3,000-message queue);
* `moto.core.utils.unix_time_millis()`, called per queued message
  (`Message.visible`/`delayed`), builds naive UTC datetimes to subtract
  them (40 messages/s from a 300-message queue; 180 with time.time()).
The replacements compute the same values (the queue's retention period;
milliseconds since the epoch) without the walks. Only this process is patched.
"""

from __future__ import annotations

import datetime
import time

import moto.sqs.models
from moto.core import utils
from moto.server import main

_moto_unix_time_millis = utils.unix_time_millis


def _unix_time_millis(dt: datetime.datetime | None = None) -> float:
    if dt is None:
        return time.time() * 1000.0
    return _moto_unix_time_millis(dt)


def _is_message_valid_based_on_retention_period(
    self: moto.sqs.models.SQSBackend, queue_name: str, message: moto.sqs.models.Message
) -> bool:
    retention_period = int(self.get_queue(queue_name).message_retention_period)
    return retention_period + message.sent_timestamp / 1000 > time.time()


moto.sqs.models.unix_time_millis = _unix_time_millis
moto.sqs.models.SQSBackend.is_message_valid_based_on_retention_period = _is_message_valid_based_on_retention_period

if __name__ == "__main__":
    main()
