"""The pipe's COPY statement, parsed: its target, stage, ON_ERROR and the projection over `$1`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import sqlglot
from sqlglot import exp

DIALECT = "snowflake"
# The column read_json_objects exposes; `$1` in the pipe's projection becomes it.
RECORD_COLUMN = "RECORD"
# DuckDB's `filename = TRUE` column, and the spooled path it is joined on.
FILENAME_COLUMN = "FILENAME"
SPOOL_COLUMN = "SPOOLED_PATH"


class CopyPlanError(ValueError):
    """The pipe's COPY uses something the local Snowpipe cannot reproduce."""


@dataclass(frozen=True)
class TargetColumn:
    name: str
    type: str  # as DESCRIBE TABLE reports it, e.g. NUMBER(38,0), VARCHAR(16777216)
    nullable: bool


@dataclass(frozen=True)
class ProjectedColumn:
    """One item of the COPY's SELECT list, bound to the column it fills."""

    target: TargetColumn
    source: str  # "path" ($1:a.b), "record" ($1), "metadata" or "constant" (a literal, CURRENT_TIMESTAMP())
    path: tuple[str | int, ...] = ()
    cast: str | None = None  # Snowflake type family the value is cast to
    metadata: str | None = None  # METADATA$... name
    expression: exp.Expression | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class CopyPlan:
    table: str  # fully qualified, as written in the COPY
    stage: str
    file_format: str | None
    on_error: str
    columns: tuple[ProjectedColumn, ...]

    def insert_sql(self, data: str | list[Path], metadata_file: Path) -> str:
        """One INSERT ... SELECT that fakesnow runs in place of the transforming COPY, for every file of a batch.

        fakesnow cannot COPY with a SELECT, but DuckDB under it reads JSON
        files. `data` is the batch's spooled files (a glob or a list) and
        `metadata_file` holds one NDJSON object per file: its spooled path and
        its METADATA$ values (see `metadata_record`). The statement's length
        does not grow with the batch: fakesnow translates every statement
        with sqlglot, which took ~0.5 s for a VALUES list of 100 files
        (measured), while a read of two files costs the same for 1 or 1,000.
        read_ndjson_objects, not read_json_objects: one record per line,
        exactly what the checks saw (the auto format would unwrap a top-level
        array into several rows), and ~15% faster.
        """
        items = []
        for column in self.columns:
            if column.source == "metadata":
                items.append(_metadata_reference(column))
            else:
                items.append(_over_record(column.expression).sql(DIALECT))
        names = ", ".join(c.target.name for c in self.columns)
        if isinstance(data, str):
            source = exp.Literal.string(data).sql(DIALECT)
        else:
            source = "[" + ", ".join(exp.Literal.string(str(path)).sql(DIALECT) for path in data) + "]"
        meta_items = ", ".join(
            f"CAST(GET_PATH(M, '{key}') AS VARCHAR) AS {key}" for key in (SPOOL_COLUMN, *_META_KEYS.values())
        )
        meta_source = exp.Literal.string(str(metadata_file)).sql(DIALECT)
        return (
            f"INSERT INTO {self.table} ({names}) SELECT {', '.join(items)} "
            f"FROM read_ndjson_objects({source}, filename = TRUE) AS src({RECORD_COLUMN}, {FILENAME_COLUMN}) "
            f"JOIN (SELECT {meta_items} FROM read_ndjson_objects({meta_source}) AS m(M)) AS meta "
            f"ON meta.{SPOOL_COLUMN} = src.{FILENAME_COLUMN}"
        )

    def insert_records_sql(self, data_file: Path) -> str:
        """INSERT ... SELECT of the projection over an NDJSON file of records, for a COPY without METADATA$ columns.

        The Snowpipe Streaming emulator applies appended rows with it: a
        streaming pipe reads no file, so there is no file metadata to join.
        """
        if any(column.source == "metadata" for column in self.columns):
            raise CopyPlanError("a COPY with METADATA$ columns reads files: use insert_sql")
        items = ", ".join(_over_record(column.expression).sql(DIALECT) for column in self.columns)
        names = ", ".join(c.target.name for c in self.columns)
        source = exp.Literal.string(str(data_file)).sql(DIALECT)
        return (
            f"INSERT INTO {self.table} ({names}) SELECT {items} "
            f"FROM read_ndjson_objects({source}) AS src({RECORD_COLUMN})"
        )


def metadata_record(spooled: Path, metadata: dict[str, str]) -> dict[str, str]:
    """One line of the batch's metadata file for `insert_sql`."""
    return {SPOOL_COLUMN: str(spooled), **{_META_KEYS[name]: value for name, value in metadata.items()}}


_METADATA_COLUMNS = {
    "METADATA$FILENAME": "VARCHAR",
    "METADATA$FILE_CONTENT_KEY": "VARCHAR",
    "METADATA$FILE_LAST_MODIFIED": "TIMESTAMP_NTZ",
    "METADATA$START_SCAN_TIME": "TIMESTAMP_LTZ",
}


_META_KEYS = {name: name.removeprefix("METADATA$") for name in _METADATA_COLUMNS}


def _metadata_reference(column: ProjectedColumn) -> str:
    reference = f"meta.{_META_KEYS[column.metadata]}"
    kind = _METADATA_COLUMNS[column.metadata]
    return reference if kind == "VARCHAR" else f"CAST({reference} AS {kind})"


def _over_record(expression: exp.Expression) -> exp.Expression:
    def rewrite(node: exp.Expression) -> exp.Expression:
        if _is_dollar_one(node):
            return exp.column(RECORD_COLUMN)
        return node

    return expression.copy().transform(rewrite)


def _is_dollar_one(node: exp.Expression) -> bool:
    return isinstance(node, exp.Parameter) and node.this is not None and node.this.name == "1"


def _type_family(kind: exp.DataType) -> str:
    rendered = kind.sql(DIALECT).upper()
    base = rendered.split("(")[0].strip()
    families = {
        "VARCHAR": "VARCHAR",
        "TEXT": "VARCHAR",
        "STRING": "VARCHAR",
        "CHAR": "VARCHAR",
        "NUMBER": "NUMBER",
        "DECIMAL": "NUMBER",
        "NUMERIC": "NUMBER",
        "INT": "NUMBER",
        "INTEGER": "NUMBER",
        "BIGINT": "NUMBER",
        "SMALLINT": "NUMBER",
        "FLOAT": "FLOAT",
        "DOUBLE": "FLOAT",
        "REAL": "FLOAT",
        "BOOLEAN": "BOOLEAN",
        "TIMESTAMP_NTZ": "TIMESTAMP",
        "TIMESTAMPNTZ": "TIMESTAMP",
        "TIMESTAMP": "TIMESTAMP",
        "TIMESTAMP_LTZ": "TIMESTAMP",
        "TIMESTAMPLTZ": "TIMESTAMP",
        "TIMESTAMP_TZ": "TIMESTAMP",
        "TIMESTAMPTZ": "TIMESTAMP",
        "DATE": "TIMESTAMP",
        "VARIANT": "VARIANT",
        "OBJECT": "VARIANT",
        "ARRAY": "VARIANT",
    }
    if base not in families:
        raise CopyPlanError(f"cast to {rendered} is not supported by the local Snowpipe")
    return families[base]


def _json_path(node: exp.Expression) -> tuple[str | int, ...] | None:
    """The path of `$1:a.b[0]`, or None when the node is not a path over $1."""
    if isinstance(node, exp.JSONExtract) and _is_dollar_one(node.this):
        path: list[str | int] = []
        for part in node.expression.expressions:
            if isinstance(part, exp.JSONPathRoot):
                continue
            if isinstance(part, exp.JSONPathKey):
                path.append(str(part.this))
            elif isinstance(part, exp.JSONPathSubscript):
                path.append(int(part.this))
            else:
                raise CopyPlanError(f"JSON path element {part.sql(DIALECT)} is not supported")
        return tuple(path)
    return None


def parse_copy(copy_statement: str, table_columns: list[TargetColumn]) -> CopyPlan:
    """Bind the pipe's COPY projection to the target table's columns.

    `table_columns` are the target table's columns in table order (the worker
    reads them with DESCRIBE TABLE, tests pass them in).
    """
    refs = copy_references(copy_statement)
    column_list, table, select = refs.column_list, refs.table, refs.select
    if select is None:
        raise CopyPlanError("the pipe's COPY must select from a stage: COPY INTO t FROM (SELECT ... FROM @stage)")

    by_name = {c.name: c for c in table_columns}
    if column_list is not None:
        missing = [n for n in column_list if n not in by_name]
        if missing:
            raise CopyPlanError(f"COPY column list names columns {missing} that {table} does not have")
        targets = [by_name[n] for n in column_list]
    else:
        targets = list(table_columns)
    if len(targets) != len(select.expressions):
        raise CopyPlanError(
            f"the COPY selects {len(select.expressions)} expressions for {len(targets)} columns of {table}"
        )

    columns = []
    for target_column, item in zip(targets, select.expressions, strict=True):
        columns.append(_project(target_column, item))

    file_format, on_error = refs.file_format, refs.on_error
    if on_error not in ("SKIP_FILE", "ABORT_STATEMENT"):
        raise CopyPlanError(f"ON_ERROR = {on_error}: the local Snowpipe skips whole files only")
    return CopyPlan(table, "@" + refs.stage, file_format, on_error, tuple(columns))


def _project(target: TargetColumn, item: exp.Expression) -> ProjectedColumn:
    node = item.this if isinstance(item, exp.Alias) else item
    if isinstance(node, exp.Column) and node.name.upper().startswith("METADATA$"):
        name = node.name.upper()
        if name not in _METADATA_COLUMNS:
            raise CopyPlanError(f"{name} is not supported by the local Snowpipe")
        return ProjectedColumn(target, "metadata", metadata=name, expression=node)
    if _is_dollar_one(node):
        return ProjectedColumn(target, "record", cast="VARIANT", expression=node)
    # What a streaming pipe fills SOURCE_FILE and LOADED_AT with (sql/snowflake_streaming_pipe.sql).
    if (isinstance(node, exp.Literal) and node.is_string) or isinstance(node, exp.CurrentTimestamp):
        return ProjectedColumn(target, "constant", expression=node)
    if isinstance(node, exp.Cast):
        path = _json_path(node.this)
        if path is None and _is_dollar_one(node.this):
            path = ()
        if path is not None:
            return ProjectedColumn(target, "path", path, _type_family(node.to), expression=node)
    path = _json_path(node)
    if path is not None:
        return ProjectedColumn(target, "path", path, "VARIANT", expression=node)
    raise CopyPlanError(
        f"projection {item.sql(DIALECT)} for {target.name}: only $1, $1:path[::type], METADATA$ columns, "
        "string literals and CURRENT_TIMESTAMP() are supported"
    )


@dataclass(frozen=True)
class CopyReferences:
    """What a pipe's COPY names: its target table, stage and file format, as written."""

    table: str
    stage: str  # without the leading @
    file_format: str | None
    on_error: str
    column_list: list[str] | None = field(compare=False)
    select: exp.Select | None = field(compare=False, repr=False)
    """The transforming SELECT; None for a plain COPY INTO t FROM @stage."""


def copy_references(copy_statement: str) -> CopyReferences:
    """The COPY parsed once, for the deploy's checks (snowflake_handlers.pipe) and the plan above."""
    try:
        copy = sqlglot.parse_one(copy_statement, read=DIALECT)
    except sqlglot.errors.ParseError as err:
        raise CopyPlanError(f"the pipe's copy statement does not parse: {err}") from err
    if not isinstance(copy, exp.Copy):
        raise CopyPlanError("the pipe's statement must be a COPY INTO")
    target = copy.this
    column_list: list[str] | None = None
    if isinstance(target, exp.Schema):
        column_list = [c.name.upper() for c in target.expressions]
        target = target.this
    source = copy.args["files"][0]
    select = source.this if isinstance(source, exp.Subquery) and isinstance(source.this, exp.Select) else None
    if select is not None:
        from_ = select.args.get("from_") or select.args.get("from")
        stage = from_.this.sql(DIALECT) if from_ is not None else ""
    else:
        stage = source.sql(DIALECT)
    file_format = None
    on_error = "ABORT_STATEMENT"
    for param in copy.args.get("params") or []:
        name = param.this.name.upper()
        if name == "FILE_FORMAT":
            for option in param.expressions:
                if option.this.name.upper() == "FORMAT_NAME":
                    file_format = option.args["value"].name
        elif name == "ON_ERROR":
            on_error = param.expression.name.upper()
    return CopyReferences(target.sql(DIALECT), stage.removeprefix("@"), file_format, on_error, column_list, select)


def parse_copy_target(copy_statement: str) -> str:
    return copy_references(copy_statement).table
