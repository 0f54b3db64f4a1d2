"""How Pulumi hands secret values to mocks and dynamic providers.

A secret arrives as {SECRET_SIG_KEY: SECRET_SIG, "value": v} (a nested secret
wraps its whole top-level property). Dynamic providers run in the cloud
program, so this lives in infra/; the local stack reuses it.
"""

from __future__ import annotations

from typing import Any

SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


def reveal(value: Any) -> Any:
    """The value with Pulumi's secret wrappers removed, at every level."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG:
            return reveal(value.get("value"))
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v) for v in value]
    return value
