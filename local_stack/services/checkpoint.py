"""The local deploy's state file, as Pulumi keeps a stack's checkpoint: what exists, with what inputs.

Written after every create, so a deploy that fails half way leaves the record
of what it did create; the next deploy creates only the rest, and `destroy`
deletes exactly what is recorded. Secrets stay in Pulumi's wire format; the
file is local only (mode 600 under the git-ignored state dir).
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local_stack.services.state import DEPLOY_STATE_FILE as STATE_FILE


@dataclass
class StateResource:
    urn: str
    type: str
    name: str
    custom: bool
    id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    parent: str = ""
    dependencies: list[str] = field(default_factory=list)
    provider: str = ""  # "<provider urn>::<provider id>"
    external: bool = False  # read, not managed: destroy leaves it to its owner

    @property
    def provider_urn(self) -> str:
        return self.provider.rsplit("::", 1)[0] if self.provider else ""

    def depends_on(self) -> set[str]:
        """Everything that must outlive this resource: dependencies, parent and provider (as the engine counts them)."""
        return {*self.dependencies, self.parent, self.provider_urn} - {""}


class DeployState:
    def __init__(self, path: Path, resources: dict[str, StateResource] | None = None):
        self.path = path
        self.resources: dict[str, StateResource] = resources or {}
        self._lock = threading.Lock()

    @classmethod
    def load(cls, state_dir: Path) -> DeployState:
        path = Path(state_dir) / STATE_FILE
        if not path.exists():
            return cls(path)
        raw = json.loads(path.read_text(encoding="utf-8"))
        return cls(path, {r["urn"]: StateResource(**r) for r in raw["resources"]})

    def put(self, resource: StateResource) -> None:
        with self._lock:
            self.resources[resource.urn] = resource
            self._save()

    def remove(self, urn: str) -> None:
        with self._lock:
            self.resources.pop(urn, None)
            self._save()

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Written after every step, as the engine checkpoints: vars() and the C encoder (no indent) keep that
        # cheap; asdict's deep copies and the pure-Python indenting encoder were a tenth of a deploy's CPU.
        payload = {"resources": [vars(r) for r in self.resources.values()]}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(payload, default=str), encoding="utf-8")
        os.chmod(tmp, 0o600)
        tmp.replace(self.path)
