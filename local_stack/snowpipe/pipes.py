"""The pipes the local deploy describes in `<state dir>/pipes.json` (typed and read in local_stack/state.py)."""

from __future__ import annotations

from local_stack.state import Pipe as PipeSpec
from local_stack.state import read_pipes

__all__ = ["PipeSpec", "read_pipes"]
