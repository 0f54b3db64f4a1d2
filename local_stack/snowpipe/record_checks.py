"""Snowflake's casts, in Python, before fakesnow sees a byte: the verdict on each file's records."""

from __future__ import annotations

import datetime as dt
import decimal
import gzip
import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from local_stack.snowpipe.copy_plan import CopyPlan

MAX_RECORD_BYTES = 16 * 1024 * 1024
GZIP_MAGIC = b"\x1f\x8b"
UTF8_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class RecordError:
    line: int
    reason: str
    column: str | None = None


@dataclass(frozen=True)
class FileVerdict:
    rows: int
    error: RecordError | None = None


class CastError(Exception):
    """A value the pipe's cast refuses, or a file it cannot read; the message is Snowflake's."""


def _variant_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def _check_number(value: Any) -> None:
    kind = type(value)
    if kind is int:
        return
    if kind is float:
        if math.isfinite(value):
            return
        raise CastError(f"Numeric value '{value}' is out of range")
    if kind is str:
        try:
            number = decimal.Decimal(value.strip())
        except decimal.InvalidOperation:
            raise CastError(f"Numeric value '{value}' is not recognized") from None
        if not number.is_finite():
            raise CastError(f"Numeric value '{value}' is not recognized")
        return
    raise CastError(f"Failed to cast variant value {_variant_text(value)} to FIXED")


def _check_float(value: Any) -> None:
    kind = type(value)
    if kind is int or kind is float:
        return
    if kind is str:
        try:
            float(value)
        except ValueError:
            raise CastError(f"Numeric value '{value}' is not recognized") from None
        return
    raise CastError(f"Failed to cast variant value {_variant_text(value)} to REAL")


def _check_timestamp(value: Any) -> None:
    kind = type(value)
    if kind is str:
        text = value.strip()
        try:
            dt.datetime.fromisoformat(text)
            return
        except ValueError:
            pass
        # Snowflake's AUTO format reads an integer string as epoch seconds.
        if text.isdigit():
            return
        raise CastError(f"Timestamp '{value}' is not recognized")
    if kind is int:
        return  # epoch seconds, as Snowflake casts a variant integer
    raise CastError(f"Failed to cast variant value {_variant_text(value)} to TIMESTAMP_NTZ")


def _check_boolean(value: Any) -> None:
    if type(value) is bool or type(value) is int:
        return
    if type(value) is str and value.strip().lower() in {"true", "false", "t", "f", "yes", "no", "y", "n", "on", "off"}:
        return
    raise CastError(f"Boolean value '{value}' is not recognized")


_CASTS: dict[str, tuple[type | tuple[type, ...], Callable[[Any], None] | None]] = {
    # (types that always cast, check for the rest); VARCHAR and VARIANT take any value.
    "VARCHAR": (object, None),
    "VARIANT": (object, None),
    "NUMBER": (int, _check_number),
    "FLOAT": ((int, float), _check_float),
    "TIMESTAMP": ((), _check_timestamp),
    "BOOLEAN": (bool, _check_boolean),
}


def _extract(record: Any, path: tuple[str | int, ...]) -> Any:
    value = record
    for part in path:
        if isinstance(part, str):
            if type(value) is not dict:
                return None
            value = value.get(part)
        else:
            if type(value) is not list or not -len(value) <= part < len(value):
                return None
            value = value[part]
        if value is None:
            return None
    return value


def validate_records(text: bytes, plan: CopyPlan) -> FileVerdict:
    """Check every record the way the pipe's COPY would cast it.

    Returns the row count, or the first bad line (1-based) and why it is bad,
    in Snowflake's words. Under ON_ERROR = SKIP_FILE one bad record skips the
    whole file, so the first error is all a caller needs.
    """
    checks = []
    for column in plan.columns:
        if column.source != "path":
            continue
        always, check = _CASTS[column.cast or "VARIANT"]
        # Most pipes read top-level keys: a plain dict lookup keeps 100k
        # records well under the time fakesnow needs to load them.
        key = column.path[0] if len(column.path) == 1 and isinstance(column.path[0], str) else None
        passes = None if always is object else frozenset(always if isinstance(always, tuple) else (always,))
        checks.append((column.target.name, key, column.path, column.target.nullable, passes, check))

    rows = 0
    loads = orjson.loads
    for number, line in enumerate(text.split(b"\n"), start=1):
        if not line.strip():
            continue
        if len(line) > MAX_RECORD_BYTES:
            return FileVerdict(
                rows, RecordError(number, f"Max LOB size ({MAX_RECORD_BYTES}) exceeded, actual size {len(line)}")
            )
        try:
            record = loads(line)
        except orjson.JSONDecodeError as err:
            return FileVerdict(rows, RecordError(number, f"Error parsing JSON: {err}"))
        is_object = type(record) is dict
        for name, key, path, nullable, passes, check in checks:
            if key is not None:
                value = record.get(key) if is_object else None
            else:
                value = _extract(record, path)
            if value is None:
                if not nullable:
                    return FileVerdict(rows, RecordError(number, f"NULL result in a non-nullable column {name}", name))
                continue
            if passes is None or type(value) in passes:
                continue
            try:
                check(value)
            except CastError as err:
                return FileVerdict(rows, RecordError(number, str(err), name))
        rows += 1
    return FileVerdict(rows)


def decode_file(body: bytes, compression: str, key: str) -> bytes:
    """Plain NDJSON bytes of an S3 object, as the file format's COMPRESSION reads it.

    AUTO trusts gzip's magic bytes rather than the key's extension, so a
    gzip file without `.gz` loads and a mislabelled plain file does too.
    """
    compression = (compression or "AUTO").upper()
    gzipped = body[:2] == GZIP_MAGIC if compression == "AUTO" else compression in ("GZIP", "DEFLATE")
    if compression not in ("AUTO", "GZIP", "NONE"):
        raise CastError(f"COMPRESSION = {compression} is not supported by the local Snowpipe")
    if gzipped:
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError, zlib.error) as err:
            raise CastError(f"Error decompressing gzip file {key}: {err}") from err
    if body.startswith(UTF8_BOM):
        body = body[len(UTF8_BOM) :]
    return body
