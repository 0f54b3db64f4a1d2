"""The error of the local stack's processes and state: it cannot start, stop or be read.

The local deploy's refusals are local_context.LocalDeployError.
"""

from __future__ import annotations


class LocalStackError(RuntimeError):
    """The local stack cannot start, stop or be read; the message says why and what to do."""
