"""Quick check: one in-process DuckDB pass vouches for files that are certainly good."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import duckdb

from local_stack.snowpipe.copy_plan import RECORD_COLUMN, CopyPlan, ProjectedColumn
from local_stack.snowpipe.record_checks import MAX_RECORD_BYTES, FileVerdict

log = logging.getLogger(__name__)


def _duck_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# DuckDB's JSON parser (yyjson) accepts NaN/Infinity, numbers that overflow a
# double and trailing commas, which orjson and Snowflake refuse. A record
# matching this may hold one; the same text inside a string is a false alarm
# that only costs the slow path.
_LENIENT_JSON = (
    r"(?:^|[:,\[])\s*(?:[-+]?(?:[Nn][Aa]|[Ii][Nn])|-?[0-9]{100}|-?[0-9]+(?:\.[0-9]+)?[eE][-+]?[0-9]{3})"
    r"|,\s*[\]}]"
)
# orjson refuses nesting deeper than 1024; a record with fewer opening brackets
# cannot be that deep.
_MAX_OPENINGS = 1024
# Timestamp shapes datetime.fromisoformat reads too; DuckDB's cast then rules
# out impossible dates (and year 0, which Python has not).
_ISO_TIMESTAMP = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:[T ](?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,6})?)?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?)?"
)
# Per cast family, a condition on a non-null JSON value `{v}` under which the
# Python check passes it too. Narrower than Snowflake on purpose (numeric
# strings, floats for NUMBER, epoch timestamps): those go to the Python check.
_QUICK_CASTS = {
    "VARCHAR": "TRUE",
    "VARIANT": "TRUE",
    "NUMBER": "json_type({v}) IN ('BIGINT', 'UBIGINT')",
    "FLOAT": "json_type({v}) IN ('BIGINT', 'UBIGINT', 'DOUBLE')",
    "BOOLEAN": "json_type({v}) = 'BOOLEAN'",
    "TIMESTAMP": "json_type({v}) = 'VARCHAR' AND regexp_full_match({v} ->> '$', "
    + _duck_string(_ISO_TIMESTAMP)
    + ") AND TRY_CAST({v} ->> '$' AS TIMESTAMP) >= TIMESTAMP '0001-01-01'",
}


def quick_check_sql(plan: CopyPlan, source: str | Path, *, per_file: bool = False) -> str | None:
    """One DuckDB pass over spooled files: records, their bytes, the longest, and the doubtful ones.

    `source` is a file or a glob; with `per_file` the figures come per file
    (first column: the file's path). None when the projection reads nested
    paths, which only the Python check follows. json_transform_strict
    parses each record once and fails the whole query on a missing key, an
    array or scalar record or a duplicate key (orjson keeps the last value,
    DuckDB's paths the first): all of them go to the Python check.
    """
    keys: dict[str, list[ProjectedColumn]] = {}
    for column in plan.columns:
        if column.source != "path":
            continue
        if len(column.path) != 1 or not isinstance(column.path[0], str):
            return None
        keys.setdefault(column.path[0], []).append(column)
    conditions = [
        f"NOT regexp_matches({RECORD_COLUMN}, {_duck_string(_LENIENT_JSON)})",
        f"(strlen({RECORD_COLUMN}) < {_MAX_OPENINGS} OR strlen({RECORD_COLUMN}) "
        f"- strlen(replace(replace({RECORD_COLUMN}, '[', ''), '{{', '')) < {_MAX_OPENINGS})",
    ]
    for key, columns in keys.items():
        value = f"struct_extract(checked, {_duck_string(key)})"
        for column in columns:
            cast = _QUICK_CASTS[column.cast or "VARIANT"].replace("{v}", value)
            presence = "IS NULL OR" if column.target.nullable else "IS NOT NULL AND"
            conditions.append(f"({value} {presence} ({cast}))")
    checked = ""
    if keys:
        spec = json.dumps(dict.fromkeys(keys, "JSON"))
        checked = f", json_transform_strict({RECORD_COLUMN}, {_duck_string(spec)}) AS checked"
    figures = (
        f"count(*), coalesce(sum(strlen({RECORD_COLUMN})), 0), coalesce(max(strlen({RECORD_COLUMN})), 0), "
        f"count(*) FILTER (WHERE ({' AND '.join(conditions)}) IS NOT TRUE)"
    )
    reader = f"read_ndjson_objects({_duck_string(str(source))}"
    if per_file:
        return (
            f"SELECT filename, {figures} FROM (SELECT {RECORD_COLUMN}, filename{checked} "
            f"FROM {reader}, filename = true) AS src({RECORD_COLUMN}, filename)) GROUP BY filename"
        )
    return f"SELECT {figures} FROM (SELECT {RECORD_COLUMN}{checked} FROM {reader}) AS src({RECORD_COLUMN}))"


def _vouched(figures: tuple[int, int, int, int], length: int, newlines: int) -> FileVerdict | None:
    records, record_bytes, longest, doubtful = figures
    # Every byte is a newline or inside a record: no whitespace around records,
    # no \r, no second value on a line, so records are exactly the non-blank
    # lines the Python check counts, and a record's length is its line's.
    if doubtful or record_bytes + newlines != length or longest > MAX_RECORD_BYTES:
        return None
    return FileVerdict(records)


def quick_verdict(
    connection: duckdb.DuckDBPyConnection, plan: CopyPlan, local_file: Path, text: bytes
) -> FileVerdict | None:
    """The file's verdict when DuckDB can vouch that every record passes, else None.

    Never an error: finding and explaining a bad record is the Python check's
    job, so its line numbers and reasons stay the only ones. `text` is the
    spooled file's content.
    """
    sql = quick_check_sql(plan, local_file)
    if sql is None:
        return None
    try:
        figures = connection.execute(sql).fetchone()
    except duckdb.Error as err:  # malformed JSON, a missing or duplicate key, ...
        log.debug("quick check declined %s: %s", local_file.name, err)
        return None
    return _vouched(figures, len(text), text.count(b"\n"))


def quick_verdicts(
    connection: duckdb.DuckDBPyConnection, plan: CopyPlan, pattern: str, shapes: dict[str, tuple[int, int]]
) -> dict[str, FileVerdict]:
    """The files of a batch (a glob) DuckDB vouches for in one pass, by spooled path.

    `shapes` gives each spooled file's (length, newline count). One bad file
    fails the whole pass: then nothing is vouched for here, and each file
    gets its own quick check (`quick_verdict`).
    """
    sql = quick_check_sql(plan, pattern, per_file=True)
    if sql is None:
        return {}
    try:
        rows = connection.execute(sql).fetchall()
    except duckdb.Error as err:
        log.debug("batch quick check declined %s: %s", pattern, err)
        return {}
    verdicts = {}
    for path, *figures in rows:
        if path in shapes:
            verdict = _vouched(tuple(figures), *shapes[path])
            if verdict is not None:
                verdicts[path] = verdict
    return verdicts
