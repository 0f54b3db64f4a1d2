"""Runs a Pulumi Python dynamic resource's own provider, as the Pulumi engine would.

Under the mock runtime a dynamic resource's create() never runs; the local
deploy, its plan and the test cloud call it here, so the external id and the
Superset import behave for real. (The local stack configures a 0 s IAM wait;
the test cloud answers the wait without sleeping.)
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import dill

from infra.wire_format import reveal

PROVIDER_KEY = "__provider"


def create(
    inputs: dict[str, Any], adapt: Callable[[dict[str, Any]], dict[str, Any]] | None = None
) -> tuple[str, dict[str, Any]]:
    """Calls the pickled provider's create() with the resource's inputs; returns (id, outputs).

    `adapt` may change the props the provider sees (never the recorded inputs).
    """
    props = reveal(inputs)
    provider = _provider(props)
    del props[PROVIDER_KEY]
    result = provider.create(adapt(props) if adapt else props)
    return result.id, {**(result.outs or {}), PROVIDER_KEY: inputs[PROVIDER_KEY]}


def provider_module(inputs: dict[str, Any]) -> str:
    """The module of a dynamic resource's provider class (Pulumi pickles it by module path)."""
    return type(_provider(reveal(inputs))).__module__


def _provider(props: dict[str, Any]) -> Any:
    return dill.loads(base64.b64decode(props[PROVIDER_KEY]))


def delete(resource_id: str, outputs: dict[str, Any]) -> None:
    """Calls the pickled provider's delete(), when it has its own (the default does nothing)."""
    props = reveal(outputs)
    provider = _provider(props)
    del props[PROVIDER_KEY]
    provider.delete(resource_id, props)
