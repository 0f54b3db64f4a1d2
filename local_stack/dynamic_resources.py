"""Runs a Pulumi Python dynamic resource's own provider, as the Pulumi engine would.

Under the mock runtime a dynamic resource's create() never runs; both the
test cloud and the local deploy call it here so dynamic resources (the
external id, the IAM wait, the Superset import) behave for real.
"""

from __future__ import annotations

import base64
from typing import Any

import dill

from infra.wire_format import reveal

PROVIDER_KEY = "__provider"


def create(inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Calls the pickled provider's create() with the resource's inputs; returns (id, outputs)."""
    props = reveal(inputs)
    provider = dill.loads(base64.b64decode(props.pop(PROVIDER_KEY)))
    result = provider.create(props)
    return result.id, {**(result.outs or {}), PROVIDER_KEY: inputs[PROVIDER_KEY]}
