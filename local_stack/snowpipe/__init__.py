"""Local Snowpipe: loads files announced on a pipe's SQS queue into fakesnow.

Real Snowpipe (AUTO_INGEST) reads S3 event notifications from its
notification channel and runs the pipe's COPY INTO for every new file. The
local deploy turns that channel into a moto SQS queue and describes each pipe
in `<state dir>/pipes.json`; this worker is the part of Snowflake fakesnow
cannot play. It keeps the promises the dashboards rely on:

* The pipe's own COPY decides what is loaded: its target table, the
  projection over `$1` (in order onto the table's columns) and ON_ERROR are
  parsed from the copy statement, not restated here.
* Batches: every file that is ready (all queued messages, up to a bound) is
  loaded in one transaction of four statements, whatever the batch size
  (fakesnow translates every statement, ~5 ms each).
* A file (S3 path + ETag) is loaded at most once. The load history lives in
  fakesnow and is written in the same transaction as the rows, and the SQS
  messages are deleted only after that commit: a worker stopped at any moment
  neither loses nor duplicates a file when it restarts.
* ON_ERROR = SKIP_FILE: a file with any bad record loads nothing and is
  recorded with the first bad line and Snowflake's reason. Records are checked
  in the worker before fakesnow sees them, because malformed JSON makes the
  fakesnow server answer HTTP 500 only after ~9 s: a vectorised DuckDB pass
  over the batch (`quick_verdicts`) can only vouch for files that are
  certainly good, and the
  Python checker (`validate_records`) decides, line by line, about any other.

Decisions where Snowflake leaves room (each covered by tests/e2e):
* empty file (or only blank lines): LOADED with 0 rows;
* blank lines between records are skipped, line numbers count every line;
* a UTF-8 byte order mark at the start is skipped (SKIP_BYTE_ORDER_MARK);
* an unknown event_type, quantity < 1 or unknown ids load as-is: the table
  has no CHECK constraint and Snowflake would load them too; the dashboards
  count only purchases and LEFT JOIN the reference data;
* non-ASCII text loads unchanged; invalid UTF-8 skips the file;
* a record longer than 16 MiB skips the file (Snowflake's VARIANT limit, and
  DuckDB's read_json_objects limit);
* a non-JSON object under the stage prefix skips the file (parse error);
* objects outside the stage prefix, folder markers and s3:TestEvent are
  ignored and never recorded;
* a modified re-upload (new ETag) is a new file and loads again.
"""

from local_stack.snowpipe.status_report import status
from local_stack.snowpipe.worker import run

__all__ = ["run", "status"]
