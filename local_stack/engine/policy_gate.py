"""The policy pack's checks (policy/checks.py) over a program run by the mock runtime.

The mock-runtime tests and the local deploy judge the same records the
CrossGuard pack judges on `pulumi preview`: every custom resource with its
wire-named properties, its protect flag, and the stack's outputs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from infra.wire_format import reveal
from local_stack.engine.program_runner import ProgramRun, Registration
from policy import checks
from policy.pack import declared_secret_values


def resources_of(run: ProgramRun) -> list[checks.Resource]:
    """Custom resources (outputs over inputs, secrets revealed), plus the stack with its outputs as registered."""
    resources = [
        checks.Resource(
            type=r.type,
            name=r.name,
            props=reveal({**r.inputs, **r.outputs}),
            id=r.id or "",
            urn=r.urn,
            protect=r.protect,
            provider_props=_provider_props(run, r),
        )
        for r in run.registrations.values()
        # A resource the program only reads (`.get`, existingWarehouse) is its
        # owner's to configure: the pack judges what the stack declares.
        if r.custom and not r.external and not r.type.startswith("pulumi:providers:")
    ]
    stack = checks.Resource(type=checks.STACK, name="stack", props=run.stack_outputs)
    return [*resources, stack]


def _provider_props(run: ProgramRun, resource: Registration) -> dict[str, Any] | None:
    # The engine's reference is "<provider urn>::<provider id>"; a URN contains "::" itself.
    provider = run.registrations.get(resource.provider.rsplit("::", 1)[0]) if resource.provider else None
    return reveal(provider.inputs) if provider is not None else None


def policy_config(run: ProgramRun, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What the pack reads from the stack: the secret config values to look for in outputs."""
    passed_as_secret = [reveal(run.config[k]) for k in run.secret_keys if run.config.get(k)]
    # The pack only knows the keys Pulumi.yaml declares secret; judge the same values here too.
    secret_values = sorted({*passed_as_secret, *declared_secret_values(run.config)})
    return {"secretValues": secret_values, **(overrides or {})}


def violations(run: ProgramRun, stack: str, overrides: Mapping[str, Any] | None = None) -> list[checks.Violation]:
    return checks.violations(resources_of(run), stack, policy_config(run, overrides))


def report_advisories(advisories: Sequence[checks.Violation], details: Path) -> str:
    """Writes every advisory to `details`; returns one console line that counts them and points there.

    A throwaway local stack always trips the prod-minded advisories (unprotected tables); a line for each on every
    start buried what a new user needs to see.
    """
    details.write_text("".join(f"{v}\n" for v in advisories))
    counts = Counter(v.policy for v in advisories)
    policies = ", ".join(f"{name} x{count}" for name, count in sorted(counts.items()))
    return f"policy: {len(advisories)} advisory warnings, none blocking ({policies}); details in {details}"
