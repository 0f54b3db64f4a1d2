"""The CrossGuard pack (policy/pack.py) hands the policy SDK's arguments to the same checks.

The Pulumi CLI cannot run here, so the pack's validations are called the way
pulumi-policy 1.21's analyzer calls them: ResourceValidationArgs /
StackValidationArgs whose props went through its unknown-checking proxy.
"""

from __future__ import annotations

import copy

import pytest
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from infra.wire_format import reveal
from local_stack.engine.program_runner import ProgramRun
from policy import checks, pack
from tests.test_program_graph import dev_stack


def _options(protect: bool) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)


def _provider(run: ProgramRun, reference: str, change: dict[str, dict]) -> PolicyProviderResource | None:
    """The resource's provider as the analyzer describes it: type, inputs (through the proxy), URN, name."""
    provider = run.registrations.get(reference.rsplit("::", 1)[0]) if reference else None
    if provider is None:
        return None
    props = {**reveal(provider.inputs), **change.get(provider.name, {})}
    return PolicyProviderResource(provider.type, unknown_checking_proxy(props), provider.urn, provider.name)


def _resources(run: ProgramRun, change: dict[str, dict] | None = None, protect_all=False) -> list[PolicyResource]:
    change = change or {}
    resources = []
    for r in run.registrations.values():
        if not r.custom or r.type.startswith("pulumi:providers:"):
            continue
        props = {**reveal({**r.inputs, **r.outputs}), **change.get(r.name, {})}
        resources.append(
            PolicyResource(
                r.type,
                unknown_checking_proxy(props),
                r.urn,
                r.name,
                _options(r.protect or protect_all),
                _provider(run, r.provider, change),
                None,
                [],
                {},
            )
        )
    return resources


def analyze(policies: list, resources: list[PolicyResource]) -> dict[str, list[str]]:
    """policy name -> messages reported, as the analyzer would collect them."""
    reports: dict[str, list[str]] = {}
    for policy in policies:

        def report(message, _urn=None, name=policy.name):
            reports.setdefault(name, []).append(message)

        if isinstance(policy, ResourceValidationPolicy):
            for r in resources:
                policy.validate(
                    ResourceValidationArgs(r.resource_type, r.props, r.urn, r.name, r.opts, r.provider, {}), report
                )
        else:
            assert isinstance(policy, StackValidationPolicy)
            policy.validate(StackValidationArgs(resources, {}), report)
    return reports


def test_pack_has_one_policy_per_check():
    assert [p.name for p in pack.policies("dev", [])] == [p.name for p in checks.POLICIES]


def test_real_program_passes_the_pack():
    policies = [p for p in pack.policies("dev", []) if p.enforcement_level == EnforcementLevel.MANDATORY]
    assert analyze(policies, _resources(dev_stack())) == {}


def test_violations_reach_the_analyzer_with_the_policy_name():
    changed = {
        "analytics-warehouse": {"autoSuspend": 0},
        "raw-events-versioning": {"versioningConfiguration": {"status": "Suspended"}},
    }
    reports = analyze(pack.policies("dev", []), _resources(dev_stack(), changed))
    assert "warehouse-auto-suspends" in reports
    assert "bucket-versioned" in reports


def test_prod_stack_enforces_protection_and_keys():
    levels = {p.name: p.enforcement_level for p in pack.policies("prod-eu", [])}
    assert levels["stateful-resources-protected"] == EnforcementLevel.MANDATORY
    assert levels["service-user-rsa-key"] == EnforcementLevel.MANDATORY
    levels = {p.name: p.enforcement_level for p in pack.policies("dev", [])}
    assert levels["stateful-resources-protected"] == EnforcementLevel.ADVISORY
    protection = [p for p in pack.policies("prod", []) if p.name == "stateful-resources-protected"]
    reports = analyze(protection, _resources(dev_stack()))
    assert any("not protected" in m for m in reports["stateful-resources-protected"])
    assert analyze(protection, _resources(dev_stack(), protect_all=True)) == {}, "protected resources pass"


def test_an_unknown_value_during_preview_is_not_a_violation():
    """pulumi-policy reports UnknownValueError as "can't run during preview"; a check must not swallow it."""
    (policy,) = [p for p in pack.policies("dev", []) if p.name == "pipe-error-integration"]
    pipe = next(r for r in _resources(dev_stack()) if r.resource_type == checks.PIPE)
    props = unknown_checking_proxy({**pipe.props["__target"], "errorIntegration": UNKNOWN_STRING_VALUE})
    args = ResourceValidationArgs(pipe.resource_type, props, pipe.urn, pipe.name, pipe.opts, None, {})
    with pytest.raises(UnknownValueError):
        policy.validate(args, lambda *_: pytest.fail("reported a violation for an unknown value"))


def test_secret_values_come_from_the_keys_pulumi_yaml_declares_secret():
    config = {
        "ecommerce-analytics:supersetPassword": "s3cret-pw",
        "ecommerce-analytics:supersetUrl": "https://superset.example.com",
    }
    assert pack.declared_secret_values(config) == ["s3cret-pw"]


def test_a_procedure_on_a_provider_without_warehouse_is_refused_and_an_unknown_warehouse_is_not():
    """The pack reads the provider the analyzer hands it (ResourceValidationArgs.provider)."""
    policy = [p for p in pack.policies("dev", []) if p.name == "required-warehouse-in-session"]
    run = copy.deepcopy(dev_stack())  # dev_stack() is shared by the session's tests; this one edits a provider
    session = run.named("snowflake-warehouse-session")
    without = {k: v for k, v in reveal(session.inputs).items() if k != "warehouse"}
    reports = analyze(policy, _resources(run))
    assert reports == {}, reports
    # A first preview: the warehouse is created by the same update, its name is still unknown.
    assert analyze(policy, _resources(run, {session.name: {"warehouse": UNKNOWN_STRING_VALUE}})) == {}
    run.registrations[session.urn].inputs = without
    refused = analyze(policy, _resources(run))["required-warehouse-in-session"]
    # The views ENRICHED_EVENTS, PIPE_LOAD_HISTORY, CONVERSION_FUNNEL, INGEST_LAG and the Python procedure.
    assert len(refused) == 5 and all("no default warehouse" in m for m in refused), refused
