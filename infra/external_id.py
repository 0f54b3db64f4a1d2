"""A random external id generated once per stack and kept in its state.

Snowflake generates a new external id whenever a storage integration is
re-created, which silently breaks the IAM role's trust. We generate our own
instead and give it to the integration, so replacing the integration leaves
the trust intact. A Python dynamic resource needs no extra provider plugin.

The provider is stored in state by module path: keep this module where it is.
"""

from __future__ import annotations

import uuid

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider


class _ExternalIdProvider(ResourceProvider):
    def create(self, props):
        value = f"{props['prefix']}-{uuid.uuid4()}"
        return CreateResult(id_=value, outs={**props, "value": value})

    def diff(self, _id, old, new):
        # Only a new prefix is a reason to roll the id (and with it the trust).
        return DiffResult(changes=old.get("prefix") != new.get("prefix"), replaces=["prefix"])


class ExternalId(Resource):
    """`value` is '<prefix>-<uuid4>', fixed for the life of the stack."""

    value: pulumi.Output[str]

    def __init__(self, name: str, prefix: str, opts: pulumi.ResourceOptions | None = None):
        super().__init__(_ExternalIdProvider(), name, {"prefix": prefix, "value": None}, opts)
