"""Runs a Pulumi Python dynamic resource's own provider, as the Pulumi engine would.

Under the mock runtime a dynamic resource's create() never runs; both the
test cloud and the local deploy call it here so dynamic resources (the
external id, the IAM wait, the Superset import) behave for real.
"""

from __future__ import annotations

import base64
from typing import Any

import dill

PROVIDER_KEY = "__provider"
_SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


def reveal(value: Any) -> Any:
    """The value with the mock runtime's secret wrappers removed, at every level."""
    if isinstance(value, dict):
        if value.get(_SECRET_SIG_KEY) == _SECRET_SIG:
            return reveal(value.get("value"))
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v) for v in value]
    return value


def create(inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Calls the pickled provider's create() with the resource's inputs; returns (id, outputs)."""
    props = reveal(inputs)
    provider = dill.loads(base64.b64decode(props.pop(PROVIDER_KEY)))
    result = provider.create(props)
    return result.id, {**(result.outs or {}), PROVIDER_KEY: inputs[PROVIDER_KEY]}
