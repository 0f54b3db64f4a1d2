"""policy/checks.py's policies as pulumi-policy (CrossGuard) policies.

The checks stay pure; this module only adapts what the policy SDK hands a
validation (ResourceValidationArgs / StackValidationArgs, whose `props` are the
wire-named properties) to checks.Resource, and reports each message back.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from policy import checks

PACK_NAME = "ecommerce-analytics-guard"
PROJECT_FILE = Path(__file__).resolve().parent.parent / "Pulumi.yaml"
LEVELS = {checks.MANDATORY: EnforcementLevel.MANDATORY, checks.ADVISORY: EnforcementLevel.ADVISORY}
SIZE_SCHEMA = PolicyConfigSchema(
    properties={
        "maxWarehouseSize": {"type": "string", "enum": list(checks.WAREHOUSE_SIZES), "default": "XSMALL"},
    }
)


def declared_secret_values(config: Mapping[str, str], project_file: Path = PROJECT_FILE) -> list[str]:
    """Values of the config keys Pulumi.yaml declares `secret: true`.

    The CLI hands a policy pack the stack's config, secrets decrypted, in
    PULUMI_CONFIG, but not which keys are secret; the project declares them.
    """
    # libyaml's loader where PyYAML has it: the local deploy asks on every `up`.
    project = yaml.load(project_file.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    keys = [
        key if ":" in key else f"{project['name']}:{key}"
        for key, declaration in (project.get("config") or {}).items()
        if isinstance(declaration, Mapping) and declaration.get("secret")
    ]
    return [config[k] for k in keys if config.get(k)]


def _context(stack: str, secret_values: list[str], policy_config: Mapping[str, Any]) -> checks.Context:
    return checks.Context(
        stack=stack,
        max_warehouse_size=policy_config.get("maxWarehouseSize") or checks.DEFAULT_MAX_WAREHOUSE_SIZE,
        secret_values=tuple(secret_values),
    )


def _resource_validation(policy: checks.Policy, stack: str, secret_values: list[str]) -> Callable:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type not in policy.types:
            return
        resource = checks.Resource(
            type=args.resource_type,
            name=args.name,
            props=args.props,
            urn=args.urn,
            protect=args.opts.protect,
            provider_props=args.provider.props if args.provider is not None else None,
        )
        for message in policy.check_resource(resource, _context(stack, secret_values, args.get_config())):
            report_violation(message, args.urn)

    return validate


def _stack_validation(policy: checks.Policy, stack: str, secret_values: list[str]) -> Callable:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [
            checks.Resource(type=r.resource_type, name=r.name, props=r.props, urn=r.urn, protect=r.opts.protect)
            for r in args.resources
        ]
        for resource, message in policy.check_stack(resources, _context(stack, secret_values, args.get_config())):
            report_violation(message, resource.urn if resource is not None else None)

    return validate


def policies(stack: str, secret_values: list[str]) -> list:
    """One pulumi-policy policy per checks.POLICIES entry, at its level for this stack."""
    built = []
    for policy in checks.POLICIES:
        common = {
            "name": policy.name,
            "description": policy.description,
            "enforcement_level": LEVELS[policy.enforcement(stack)],
            "config_schema": SIZE_SCHEMA if policy.name == "warehouse-size-limit" else None,
        }
        if policy.check_resource is not None:
            built.append(
                ResourceValidationPolicy(validate=_resource_validation(policy, stack, secret_values), **common)
            )
        else:
            built.append(StackValidationPolicy(validate=_stack_validation(policy, stack, secret_values), **common))
    return built


def from_environment() -> list:
    """The CLI starts the pack with PULUMI_STACK and PULUMI_CONFIG set (pulumi's analyzer_plugin.go, constructEnv)."""
    import pulumi.runtime

    return policies(os.environ.get("PULUMI_STACK", ""), declared_secret_values(pulumi.runtime.get_config_env()))
