"""What `pulumi preview` after `pulumi up` would diff: objects read back, compared as the provider compares.

A perpetual diff comes from Snowflake reporting an object differently from
how the program declared it. Where the emulators can report an object, this
reads it back and compares it normalised the way terraform-provider-snowflake
suppresses differences:

- table column types: DiffSuppressDataTypes (pkg/resources/diff_suppressions.go
  with pkg/sdk/datatypes): VARCHAR = VARCHAR(16777216), NUMBER = NUMBER(38,0),
  TIMESTAMP_x = TIMESTAMP_x(9), and the type synonyms;
- a pipe's copy_statement: pipeCopyStatementDiffSuppress (pkg/resources/pipe.go),
  which ignores only trailing semicolons, line endings and surrounding whitespace;
- a stage's file format name: suppressIdentifierQuoting ("DB"."S"."F" = DB.S.F).

What fakesnow cannot report as Snowflake does is listed in EMULATOR_GAPS and
in docs/known-limits.md, never silently skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local_stack.account.dynamic_resources import reveal
from local_stack.account.snowflake_account import split_qualified
from local_stack.services import endpoints as local_endpoints
from local_stack.services import state as local_state
from local_stack.services.checkpoint import DeployState, StateResource

TABLE = "snowflake:index/table:Table"
PIPE = "snowflake:index/pipe:Pipe"
STAGE = "snowflake:index/stageExternalS3:StageExternalS3"
VIEW = "snowflake:index/view:View"

# Declared type -> what fakesnow reports instead, and why it is not a real diff.
EMULATOR_GAPS = {
    ("TIMESTAMP_LTZ(9)", "TIMESTAMP_TZ(9)"): "fakesnow keeps TIMESTAMP_LTZ as DuckDB TIMESTAMPTZ and reports it as TZ",
}
VIEW_GAP = "fakesnow reports a view's DuckDB translation, not the CREATE text Snowflake keeps: not comparable"

_SYNONYMS = {
    "STRING": "VARCHAR",
    "TEXT": "VARCHAR",
    "INT": "NUMBER(38,0)",
    "INTEGER": "NUMBER(38,0)",
    "BIGINT": "NUMBER(38,0)",
    "DECIMAL": "NUMBER",
    "NUMERIC": "NUMBER",
    "DATETIME": "TIMESTAMP_NTZ",
}
_DEFAULT_ARGS = {
    "VARCHAR": "(16777216)",
    "NUMBER": "(38,0)",
    "TIMESTAMP_NTZ": "(9)",
    "TIMESTAMP_LTZ": "(9)",
    "TIMESTAMP_TZ": "(9)",
}


@dataclass(frozen=True)
class Difference:
    resource: str
    field: str
    declared: str
    reported: str


def normalise_data_type(data_type: str) -> str:
    """A Snowflake type with its defaults spelled out (DiffSuppressDataTypes)."""
    text = re.sub(r"\s+", "", data_type.upper())
    match = re.fullmatch(r"([A-Z_]+)(\(.*\))?", text)
    if not match:
        return text
    base = _SYNONYMS.get(match.group(1), match.group(1))
    if "(" in base:  # a synonym that carries its arguments
        return base
    return base + (match.group(2) or _DEFAULT_ARGS.get(base, ""))


def normalise_copy(statement: str) -> str:
    """pipeCopyStatementDiffSuppress: trailing semicolons, line endings and surrounding whitespace."""
    return statement.replace("\r\n", "\n").strip().rstrip(";").strip()


def normalise_identifier(name: str) -> str:
    """suppressIdentifierQuoting: quoted and unquoted spellings of the same name are the same."""
    return ".".join(split_qualified(name))


def table_differences(resource: StateResource, described: list[tuple[Any, ...]]) -> list[Difference]:
    """`described`: rows of DESCRIBE TABLE (name, type, kind, null?, ...)."""
    declared = {c["name"]: c for c in reveal(resource.inputs)["columns"]}
    reported = {row[0]: row for row in described}
    found = []
    for name in sorted({*declared, *reported}):
        column, row = declared.get(name), reported.get(name)
        if column is None or row is None:
            found.append(Difference(resource.name, f"column {name}", str(column), str(row)))
            continue
        want, got = normalise_data_type(column["type"]), normalise_data_type(row[1])
        if want != got and (want, got) not in EMULATOR_GAPS:
            found.append(Difference(resource.name, f"column {name} type", want, got))
        nullable = "Y" if column.get("nullable", True) else "N"
        if nullable != row[3]:
            found.append(Difference(resource.name, f"column {name} nullable", nullable, row[3]))
    return found


def pipe_differences(resource: StateResource, pipe_record: local_state.Pipe) -> list[Difference]:
    declared, reported = resource.inputs["copyStatement"], pipe_record.copy_statement
    if normalise_copy(declared) != normalise_copy(reported):
        return [Difference(resource.name, "copy_statement", declared, reported)]
    return []


def stage_differences(resource: StateResource, reported_url: str, format_fqn: str) -> list[Difference]:
    """`format_fqn`: the created file format's own name; the stage's format name must resolve to it."""
    found = []
    if reported_url != resource.inputs["url"]:
        found.append(Difference(resource.name, "url", resource.inputs["url"], reported_url))
    declared_format = (resource.inputs.get("fileFormat") or {}).get("formatName") or ""
    if normalise_identifier(declared_format) != normalise_identifier(format_fqn):
        found.append(Difference(resource.name, "file_format.format_name", declared_format, format_fqn))
    return found


def stack_differences(state_dir: Path) -> tuple[list[Difference], list[str]]:
    """(differences, what could not be compared and why) for the deployed local stack in `state_dir`."""
    state = DeployState.load(state_dir)
    found = local_state.read_endpoints(state_dir)
    pipes = local_state.read_pipes(state_dir)
    differences: list[Difference] = []
    gaps: list[str] = []
    connection = local_endpoints.connect_snowflake(found)
    try:
        cursor = connection.cursor()
        for resource in state.resources.values():
            inputs = resource.inputs
            path = (inputs.get("database"), inputs.get("schema"), inputs.get("name"))
            if resource.type == TABLE:
                described = cursor.execute(f"DESCRIBE TABLE {'.'.join(path)}").fetchall()
                differences += table_differences(resource, described)
            elif resource.type == PIPE:
                record = next((p for p in pipes if (p.database, p.schema, p.name) == path), None)
                if (
                    record is None
                ):  # a streaming pipe: recorded for the emulator (local_stack/account/streaming_pipes.py)
                    gaps.append(f"{resource.name}: a streaming pipe's definition is not read back locally")
                else:
                    differences += pipe_differences(resource, record)
            elif resource.type == STAGE:
                shown = cursor.execute(f"SHOW STAGES IN SCHEMA {path[0]}.{path[1]}").fetchall()
                columns = [d[0].lower() for d in cursor.description]
                urls = {row[columns.index("name")]: row[columns.index("url")] for row in shown}
                # The one file format of the stack, as fakesnow lists it.
                formats = cursor.execute(f"SHOW FILE FORMATS IN SCHEMA {path[0]}.{path[1]}").fetchall()
                columns = [d[0].lower() for d in cursor.description]
                format_fqns = [
                    ".".join(row[columns.index(c)] for c in ("database_name", "schema_name", "name")) for row in formats
                ]
                declared = normalise_identifier(inputs["fileFormat"]["formatName"])
                differences += stage_differences(
                    resource, urls.get(path[2], ""), declared if declared in format_fqns else ", ".join(format_fqns)
                )
            elif resource.type == VIEW:
                gaps.append(f"{resource.name}: {VIEW_GAP}")
    finally:
        connection.close()
    gaps += [
        f"column types {declared} reported as {reported}: {why}" for (declared, reported), why in EMULATOR_GAPS.items()
    ]
    return differences, gaps
