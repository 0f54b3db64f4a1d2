"""The local Snowpipe's reading of the pipe's COPY and its Snowflake cast rules (no servers)."""

from __future__ import annotations

import gzip
from pathlib import Path

import duckdb
import fakesnow
import orjson
import pytest
import snowflake.connector
import sqlglot

from infra import sql_source
from local_stack.services.state import Pipe
from local_stack.snowpipe import copy_plan, quick_check, record_checks
from local_stack.snowpipe.copy_plan import CopyPlanError, TargetColumn
from local_stack.snowpipe.record_checks import RecordError

NAMESPACE = sql_source.SchemaPath("ECOMMERCE_POC", "ANALYTICS")


def _table_columns() -> list[TargetColumn]:
    return [TargetColumn(c.name, c.type, c.nullable) for c in sql_source.tables()["ECOMMERCE_EVENTS"].columns]


@pytest.fixture(scope="module")
def plan() -> copy_plan.CopyPlan:
    copy = sql_source.pipe_copy_statement(NAMESPACE, "EVENTS_STAGE", "JSON_EVENTS")
    return copy_plan.parse_copy(copy, _table_columns())


def record(**fields: object) -> dict:
    base = {
        "event_id": "e1",
        "event_type": "purchase",
        "event_timestamp": "2025-01-01T10:00:00Z",
        "customer_id": 7,
        "product_id": 1001,
        "quantity": 2,
        "session_id": "s1",
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not ...}


def ndjson(*records: object) -> bytes:
    return b"\n".join(r if isinstance(r, bytes) else orjson.dumps(r) for r in records) + b"\n"


# --------------------------------------------------------------------------
# COPY parsing


def test_the_pipes_copy_binds_every_column_in_table_order(plan: copy_plan.CopyPlan) -> None:
    assert plan.table.upper() == "ECOMMERCE_POC.ANALYTICS.ECOMMERCE_EVENTS", f"target table: {plan.table}"
    assert plan.on_error == "SKIP_FILE", "the pipe's ON_ERROR must be read from its COPY"
    assert plan.file_format == "ECOMMERCE_POC.ANALYTICS.JSON_EVENTS", f"file format: {plan.file_format}"
    assert plan.stage == "@ECOMMERCE_POC.ANALYTICS.EVENTS_STAGE", f"stage: {plan.stage}"
    bound = [(c.target.name, c.source, c.path, c.cast, c.metadata) for c in plan.columns]
    assert bound == [
        ("EVENT_ID", "path", ("event_id",), "VARCHAR", None),
        ("EVENT_TYPE", "path", ("event_type",), "VARCHAR", None),
        ("EVENT_TIMESTAMP", "path", ("event_timestamp",), "TIMESTAMP", None),
        ("CUSTOMER_ID", "path", ("customer_id",), "NUMBER", None),
        ("PRODUCT_ID", "path", ("product_id",), "NUMBER", None),
        ("QUANTITY", "path", ("quantity",), "NUMBER", None),
        ("SESSION_ID", "path", ("session_id",), "VARCHAR", None),
        ("RAW_EVENT", "record", (), "VARIANT", None),
        ("SOURCE_FILE", "metadata", (), None, "METADATA$FILENAME"),
        ("LOADED_AT", "metadata", (), None, "METADATA$START_SCAN_TIME"),
    ], "the projection over $1 must map positionally onto ECOMMERCE_EVENTS"


def _metadata(name: str) -> dict[str, str]:
    return {
        "METADATA$FILENAME": name,
        "METADATA$FILE_CONTENT_KEY": "etag-1",
        "METADATA$FILE_LAST_MODIFIED": "2025-01-01 00:00:00",
        "METADATA$START_SCAN_TIME": "2025-01-01 00:00:00+00:00",
    }


def test_insert_replaces_dollar_one_and_metadata(plan: copy_plan.CopyPlan) -> None:
    sql = plan.insert_sql("/tmp/spool/batch/*.json", Path("/tmp/spool/batch/it's.ndjson"))
    assert "$1" not in sql and "METADATA$" not in sql, f"placeholders left in {sql}"
    assert "read_ndjson_objects('/tmp/spool/batch/*.json', filename = TRUE)" in sql, (
        "every file of the batch must be read by one statement"
    )
    literals = {lit.name for lit in sqlglot.parse_one(sql, read="snowflake").find_all(sqlglot.exp.Literal)}
    assert "/tmp/spool/batch/it's.ndjson" in literals, f"paths must be quoted as SQL literals: {sql}"
    assert "CAST(GET_PATH(RECORD, 'customer_id') AS DECIMAL(38, 0))" in sql, "the pipe's own casts must be kept"


@pytest.mark.emulator
def test_batch_insert_gives_each_row_its_own_files_metadata(plan: copy_plan.CopyPlan, tmp_path: Path) -> None:
    """Run the batch INSERT's SELECT on fakesnow (in process): rows of two files keep their own SOURCE_FILE."""
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_bytes(ndjson(record(event_id="a1"), record(event_id="a2")))
    second.write_bytes(ndjson(record(event_id="b1")))
    metadata_file = tmp_path / "meta.ndjson"
    metadata_file.write_bytes(
        ndjson(
            copy_plan.metadata_record(first, _metadata("dir/a.json")),
            copy_plan.metadata_record(second, _metadata("dir/b.json")),
        )
    )
    # fakesnow in-process: the same SQL translation the server applies.
    with fakesnow.patch(), snowflake.connector.connect(database="ECOMMERCE_POC", schema="ANALYTICS") as connection:
        cursor = connection.cursor()
        for data in (str(tmp_path / "*.json"), [first, second]):
            select = sqlglot.parse_one(plan.insert_sql(data, metadata_file), read="snowflake").expression
            rows = cursor.execute(f"SELECT * FROM ({select.sql('snowflake')}) ORDER BY 1").fetchall()
            got = [(r[0], r[8]) for r in rows]
            assert got == [("a1", "dir/a.json"), ("a2", "dir/a.json"), ("b1", "dir/b.json")], f"{data}: {rows}"


def test_column_list_and_nested_paths_are_supported() -> None:
    columns = [TargetColumn("A", "VARCHAR", False), TargetColumn("B", "NUMBER(38,0)", True)]
    plan = copy_plan.parse_copy("COPY INTO db.s.t (B, A) FROM (SELECT $1:x.y[1]::NUMBER, $1:z FROM @st)", columns)
    assert [(c.target.name, c.path, c.cast) for c in plan.columns] == [
        ("B", ("x", "y", 1), "NUMBER"),
        ("A", ("z",), "VARIANT"),
    ], "a COPY column list decides the order, nested paths keep their steps"
    assert plan.on_error == "ABORT_STATEMENT", "without ON_ERROR a COPY aborts, as in Snowflake"


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("COPY INTO t FROM @st", "must select from a stage"),
        ("COPY INTO t FROM (SELECT $1:a::VARCHAR FROM @st)", "selects 1 expressions for 2 columns"),
        ("COPY INTO t FROM (SELECT $1:a, METADATA$FILE_ROW_NUMBER FROM @st)", "METADATA$FILE_ROW_NUMBER"),
        ("COPY INTO t FROM (SELECT $1:a, UPPER($1:b) FROM @st)", "only $1"),
        ("COPY INTO t FROM (SELECT $1:a, $1:b FROM @st) ON_ERROR = CONTINUE", "ON_ERROR = CONTINUE"),
    ],
)
def test_copies_the_local_snowpipe_cannot_reproduce_are_refused(statement: str, message: str) -> None:
    columns = [TargetColumn("A", "VARCHAR", True), TargetColumn("B", "VARCHAR", True)]
    with pytest.raises(CopyPlanError, match=message.replace("$", r"\$")):
        copy_plan.parse_copy(statement, columns)


# --------------------------------------------------------------------------
# Validation: Snowflake's casts


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, None),
        ({"customer_id": "42"}, None),  # numeric string casts to NUMBER
        ({"quantity": 2.0}, None),
        ({"quantity": 0}, None),  # no CHECK constraint: loads as Snowflake would
        ({"event_type": "wishlist"}, None),
        ({"event_id": 12345}, None),  # VARCHAR takes any JSON value
        ({"session_id": None}, None),  # nullable column
        ({"session_id": ...}, None),
        ({"event_timestamp": "2025-01-01T10:00:00+02:00"}, None),
        ({"event_timestamp": "2025-01-01 10:00:00.123"}, None),
        ({"event_timestamp": 1735725600}, None),  # epoch seconds
        ({"customer_id": "abc"}, RecordError(1, "Numeric value 'abc' is not recognized", "CUSTOMER_ID")),
        ({"product_id": True}, RecordError(1, "Failed to cast variant value true to FIXED", "PRODUCT_ID")),
        ({"quantity": [1]}, RecordError(1, "Failed to cast variant value [1] to FIXED", "QUANTITY")),
        ({"event_timestamp": "soon"}, RecordError(1, "Timestamp 'soon' is not recognized", "EVENT_TIMESTAMP")),
        (
            {"event_timestamp": 1.5},
            RecordError(1, "Failed to cast variant value 1.5 to TIMESTAMP_NTZ", "EVENT_TIMESTAMP"),
        ),
        ({"event_id": ...}, RecordError(1, "NULL result in a non-nullable column EVENT_ID", "EVENT_ID")),
        ({"quantity": None}, RecordError(1, "NULL result in a non-nullable column QUANTITY", "QUANTITY")),
    ],
)
def test_cast_rules_follow_snowflake(plan: copy_plan.CopyPlan, fields: dict, expected: RecordError | None) -> None:
    verdict = record_checks.validate_records(ndjson(record(**fields)), plan)
    assert verdict.error == expected, f"{fields}: expected {expected}, got {verdict.error}"
    assert verdict.rows == (1 if expected is None else 0), f"{fields}: rows counted {verdict.rows}"


def test_first_bad_line_is_reported_with_blank_lines_counted(plan: copy_plan.CopyPlan) -> None:
    body = ndjson(record(), b"", b"   ", record(), b'{"event_id": ', record())
    verdict = record_checks.validate_records(body, plan)
    assert verdict.error is not None and verdict.error.line == 5, f"line numbers count blank lines: {verdict}"
    assert verdict.error.reason.startswith("Error parsing JSON"), verdict.error.reason


def test_non_object_records_fail_on_the_first_required_column(plan: copy_plan.CopyPlan) -> None:
    verdict = record_checks.validate_records(b"[1, 2]\n", plan)
    assert verdict.error == RecordError(1, "NULL result in a non-nullable column EVENT_ID", "EVENT_ID"), verdict


def test_record_over_16_mib_is_refused(plan: copy_plan.CopyPlan) -> None:
    line = orjson.dumps(record(padding="x" * record_checks.MAX_RECORD_BYTES))
    verdict = record_checks.validate_records(line, plan)
    assert verdict.error is not None and verdict.error.reason.startswith("Max LOB size"), verdict


def test_empty_and_blank_files_have_zero_rows(plan: copy_plan.CopyPlan) -> None:
    assert record_checks.validate_records(b"", plan) == record_checks.FileVerdict(0), "empty file: zero rows, no error"
    assert record_checks.validate_records(b"\n\n  \n", plan) == record_checks.FileVerdict(0), (
        "blank lines are not records"
    )


def test_non_ascii_and_invalid_utf8(plan: copy_plan.CopyPlan) -> None:
    ok = record_checks.validate_records(ndjson(record(session_id="東京-😀", note="é")), plan)
    assert ok == record_checks.FileVerdict(1), f"non-ASCII text is valid JSON: {ok}"
    bad = record_checks.validate_records(ndjson(record()).replace(b"s1", b"s\xff"), plan)
    assert bad.error is not None and bad.error.line == 1, f"invalid UTF-8 must fail line 1: {bad}"


# --------------------------------------------------------------------------
# Quick check: it may only vouch for files the Python check passes


@pytest.fixture(scope="module")
def duck() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    yield connection
    connection.close()


def quick(plan: copy_plan.CopyPlan, duck: duckdb.DuckDBPyConnection, tmp_path: Path, body: bytes):
    spool = tmp_path / "spool.json"
    spool.write_bytes(body)
    return quick_check.quick_verdict(duck, plan, spool, body)


def test_quick_check_vouches_for_clean_files(plan: copy_plan.CopyPlan, duck, tmp_path: Path) -> None:
    body = ndjson(
        *(record(event_id=f"e{n}") for n in range(50)),
        b"",
        record(session_id=None, event_timestamp="2025-01-01 10:00:00.123456+02:00", note="NaN-free, ok"),
        record(event_timestamp="2024-02-29", padding=[{"a": [1, 2.5e10, None]}]),
    )
    assert quick(plan, duck, tmp_path, body) == record_checks.FileVerdict(52), "a clean file needs no Python pass"
    assert quick(plan, duck, tmp_path, b"\n\n") == record_checks.FileVerdict(0), "blank lines are no records"


@pytest.mark.parametrize(
    "line",
    [
        *(
            # A good record with one more field only DuckDB's lenient parser reads.
            orjson.dumps(record())[:-1] + b', "x": ' + extra + b"}"
            for extra in (b"NaN", b"[-Infinity]", b"-nan", b"[1, 2,]", b'{"a": 1,}', b"1e400", b"1" + b"0" * 400)
        ),
        orjson.dumps(record())[:-1] + b', "x": ' + b"[" * 1100 + b"]" * 1100 + b"}",
        orjson.dumps(record()) + b"\r",
        b"  " + orjson.dumps(record()),
        orjson.dumps(record()) + b"\x0c",
        b"\x0b" + orjson.dumps(record()),
        orjson.dumps(record()) + b" " + orjson.dumps(record()),
        orjson.dumps(record())[:-1] + b', "customer_id": "abc"}',
        orjson.dumps(record())[:-1] + b', "event_id": null}',
        b"[1, 2]",
        b"null",
        b"42",
        b"\xef\xbb\xbf" + orjson.dumps(record()),
        orjson.dumps(record()).replace(b'"customer_id":7', b'"customer_id":1180591620717411303424'),
        orjson.dumps(record()).replace(b"s1", b"s\xff"),
    ]
    + [
        orjson.dumps(record(**{column: value}))
        for column, value in [
            ("customer_id", "42"),
            ("customer_id", " 42 "),
            ("customer_id", 2.5),
            ("customer_id", True),
            ("customer_id", "abc"),
            ("customer_id", None),
            ("customer_id", {"n": 1}),
            ("event_id", None),
            ("event_id", ...),
            ("session_id", ...),
            ("event_timestamp", 1735725600),
            ("event_timestamp", "1735725600"),
            ("event_timestamp", "2025-01-01T24:00:00"),
            ("event_timestamp", "2025-01-01T10:00:60"),
            ("event_timestamp", "2025-02-30"),
            ("event_timestamp", "0000-01-01"),
            ("event_timestamp", "2025-01-01Z"),
            ("event_timestamp", "2025-01-01T10"),
            ("event_timestamp", "2025-01-01T10:00:00.1234567"),
            ("event_timestamp", "2025-01-01T10:00:00+0200"),
            ("event_timestamp", " 2025-01-01"),
            ("event_timestamp", "soon"),
            ("event_timestamp", 1.5),
        ]
    ],
)
def test_quick_check_never_vouches_for_what_python_refuses(
    plan: copy_plan.CopyPlan, duck, tmp_path: Path, line: bytes
) -> None:
    body = ndjson(record(), line, record())
    python = record_checks.validate_records(body, plan)
    verdict = quick(plan, duck, tmp_path, body)
    if python.error is not None:
        assert verdict is None, f"{line[:80]!r}: Python refuses ({python.error}) but the quick check passed {verdict}"
    else:
        assert verdict in (None, python), f"{line[:80]!r}: quick {verdict} disagrees with Python {python}"


def test_quick_check_leaves_nested_paths_to_python(duck, tmp_path: Path) -> None:
    columns = [TargetColumn("A", "NUMBER(38,0)", False)]
    nested = copy_plan.parse_copy("COPY INTO db.s.t FROM (SELECT $1:x.y::NUMBER FROM @st)", columns)
    assert quick(nested, duck, tmp_path, b'{"x": {"y": 1}}\n') is None, "only the Python check follows nested paths"


# --------------------------------------------------------------------------
# Files and notifications


def test_decode_file_detects_gzip_by_magic_bytes_and_strips_bom() -> None:
    text = b'{"a": 1}\n'
    assert record_checks.decode_file(gzip.compress(text), "AUTO", "no-extension") == text, "gzip found by magic bytes"
    assert record_checks.decode_file(text, "AUTO", "plain.gz") == text, "a plain file named .gz still reads as plain"
    assert record_checks.decode_file(b"\xef\xbb\xbf" + text, "AUTO", "bom.json") == text, "the BOM is skipped"
    assert record_checks.decode_file(gzip.compress(text), "NONE", "raw") == gzip.compress(text), "NONE never inflates"


def test_truncated_gzip_is_a_file_error() -> None:
    with pytest.raises(record_checks.CastError, match="Error decompressing gzip"):
        body = gzip.compress(b"".join(orjson.dumps({"n": i, "h": hash(str(i))}) + b"\n" for i in range(500)))
        record_checks.decode_file(body[: len(body) // 2], "AUTO", "cut.gz")


def test_stage_prefix_gets_a_trailing_slash() -> None:
    pipe = Pipe(
        name="P", database="D", schema="S", copy_statement="COPY", auto_ingest=True, queue_url="q",
        queue_arn="arn", stage_name="D.S.STAGE", stage_url="s3://bucket/events",
    )  # fmt: skip
    assert (pipe.bucket, pipe.prefix) == ("bucket", "events/"), "events2/x must not count as under events"
