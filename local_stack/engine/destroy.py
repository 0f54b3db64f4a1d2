"""`pulumi destroy` for the local stack: delete what the deploy state records, as the engine would.

Order: a resource is deleted only once nothing left in the state depends on
it, counting explicit and property dependencies, parents and provider
references, as the engine's dependency graph does (pulumi/pulumi
pkg/resource/graph/dependency_graph.go, DependingOn). The engine deletes
every resource that is free at the same time in parallel, so each round
here deletes all of them: an object is deleted as early as a real destroy
could delete it (a warehouse as soon as its own dependents are gone, even
while tables are still being dropped).

Each Snowflake delete runs in a fresh login of its provider, under the login
rules of a real account (snowflake_account.py): a provider whose default
warehouse was already dropped can no longer log in, as on a real account.
Like the engine, destroy stops after the round in which a delete failed and
keeps the failed and remaining resources in the state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from local_stack.account import aws_handlers, dynamic_resources, snowflake_handlers
from local_stack.account.context import Deleter, LocalContext
from local_stack.account.snowflake_account import Session
from local_stack.engine.target import SNOWFLAKE_PROVIDER, handler_token, restore_context, save_context
from local_stack.errors import LocalDeployError
from local_stack.services.checkpoint import DeployState, StateResource


def _delete_dynamic(_ctx: LocalContext, resource: StateResource) -> None:
    dynamic_resources.delete(resource.id, resource.outputs)


DELETERS: dict[str, Deleter] = {
    **aws_handlers.DELETERS,
    **snowflake_handlers.DELETERS,
    "pulumi-python:dynamic:Resource": _delete_dynamic,
}


class LocalDestroyError(LocalDeployError):
    """Destroy stopped; the message names what failed and what is left in the state."""


@dataclass
class DestroyReport:
    deleted: list[str] = field(default_factory=list)
    rounds: list[list[str]] = field(default_factory=list)


def deletion_rounds(resources: dict[str, StateResource]) -> list[list[StateResource]]:
    """The engine's delete schedule: each round is everything no remaining resource depends on."""
    remaining = dict(resources)
    rounds = []
    while remaining:
        needed = {dep for r in remaining.values() for dep in r.depends_on()}
        free = sorted((r for urn, r in remaining.items() if urn not in needed), key=lambda r: r.urn)
        if not free:
            raise LocalDestroyError(f"dependency cycle among {sorted(remaining)}")
        rounds.append(free)
        for resource in free:
            del remaining[resource.urn]
    return rounds


def destroy(context: LocalContext, progress: Callable[[str], None] = print) -> DestroyReport:
    """Deletes every resource in the state dir's deploy state; a second call finds nothing to do."""
    restore_context(context)
    state = DeployState.load(context.state_dir)
    report = DestroyReport()
    remaining = dict(state.resources)
    try:
        while remaining:
            free = deletion_rounds(remaining)[0]
            failures = []
            for resource in free:
                try:
                    _delete(context, state, resource)
                except Exception as err:  # reported below with every other failure of the round
                    failures.append(f"{resource.type} '{resource.name}': {err}")
                    continue
                del remaining[resource.urn]
                if resource.custom and not resource.external and not resource.type.startswith("pulumi:providers:"):
                    report.deleted.append(f"{resource.type} {resource.name}")
                    progress(f"deleted {resource.type} {resource.name}")
            report.rounds.append([r.name for r in free])
            if failures:
                left = sorted(f"{r.type} {r.name}" for r in remaining.values() if r.custom)
                raise LocalDestroyError(
                    "destroy stopped:\n  " + "\n  ".join(failures) + f"\nstill in the state: {', '.join(left)}"
                )
    finally:
        save_context(context)
    return report


def _delete(context: LocalContext, state: DeployState, resource: StateResource) -> None:
    if resource.custom and not resource.external and not resource.type.startswith("pulumi:providers:"):
        deleter = DELETERS.get(handler_token(resource.type))
        if deleter is None:
            raise LocalDestroyError(f"the local destroy has no delete for {resource.type}; add one to DELETERS")
        session = _fresh_login(context, state, resource) if resource.type.startswith("snowflake:") else None
        context.in_session(session)
        try:
            deleter(context, resource)
        finally:
            context.in_session(None)
    state.remove(resource.urn)


def _fresh_login(context: LocalContext, state: DeployState, resource: StateResource) -> Session:
    provider = state.resources.get(resource.provider_urn)
    if provider is None or provider.type != SNOWFLAKE_PROVIDER:
        raise LocalDestroyError(
            f"{resource.type} {resource.name}: its provider {resource.provider_urn} is not in the state"
        )
    return context.account.login(provider.name, dynamic_resources.reveal(provider.inputs))
