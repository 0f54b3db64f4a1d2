"""The local stack's one error class, shared by every module that can refuse to start, stop or read state."""

from __future__ import annotations


class LocalStackError(RuntimeError):
    """The local stack cannot start, stop or be read; the message says why and what to do."""
