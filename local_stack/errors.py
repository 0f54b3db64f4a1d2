"""The local stack's errors: one base class every CLI command catches, one subclass for the deploy target."""

from __future__ import annotations


class LocalStackError(RuntimeError):
    """The local stack cannot start, stop or be read; the message says why and what to do."""


class LocalDeployError(LocalStackError):
    """A resource could not be created or deleted on the strict local target, as a real account would refuse it."""
