"""The pipes the local deploy describes in `<state dir>/pipes.json`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse


@dataclass(frozen=True)
class PipeSpec:
    name: str
    database: str
    schema: str
    copy_statement: str
    queue_url: str
    stage_url: str
    compression: str
    # SNS topic of the pipe's ERROR_INTEGRATION, when it has one.
    error_topic_arn: str | None = None

    @property
    def bucket(self) -> str:
        return urlparse(self.stage_url).netloc

    @property
    def prefix(self) -> str:
        path = urlparse(self.stage_url).path.lstrip("/")
        return path if not path or path.endswith("/") else path + "/"

    @property
    def qualified_name(self) -> str:
        return f"{self.database}.{self.schema}.{self.name}"


def read_pipes(state_dir: Path) -> list[PipeSpec]:
    path = Path(state_dir) / "pipes.json"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise SystemExit(f"{path} is missing: run the local deploy first (it writes pipes.json)") from err
    pipes = []
    for entry in document.get("pipes", []):
        pipes.append(
            PipeSpec(
                name=entry["name"],
                database=entry["database"],
                schema=entry["schema"],
                copy_statement=entry["copy_statement"],
                queue_url=entry["queue_url"],
                stage_url=entry["stage"]["url"],
                compression=(entry.get("file_format") or {}).get("compression", "AUTO"),
                error_topic_arn=entry.get("error_topic_arn"),
            )
        )
    return pipes
