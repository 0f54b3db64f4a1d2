"""The pipes the local deploy describes in `<state dir>/pipes.json` (typed in services/state.py)."""

from __future__ import annotations

from local_stack.services.state import Pipe as PipeSpec
from local_stack.services.state import read_pipes

__all__ = ["PipeSpec", "read_pipes"]
