"""`pulumi preview` and `pulumi refresh` of the local stack, with the engine's semantics.

Preview runs the program against the strict account as it is now and changes
nothing:

- a resource to be created answers with its planned inputs; its id and the
  outputs the cloud computes stay unknown (pulumi-terraform-bridge
  pkg/tfbridge/provider.go, Create with preview);
- a provider whose inputs are all known is configured, which for Snowflake
  is a login against the account as it is (terraform-provider-snowflake
  pkg/provider/provider.go, ConfigureProvider); one with an unknown input is
  not configured (pulumi/pulumi pkg/resource/deploy/providers/registry.go);
- a resource already in the state diffs its declared inputs against the
  state: the properties the provider marks ForceNew replace it, others update
  it; a property the provider reads back (REFRESHED) diffs against what the
  last refresh read.

Refresh reads those properties back from the account into the state.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from local_stack.account import dynamic_resources
from local_stack.account.context import LocalContext
from local_stack.engine import pulumi_sdk
from local_stack.engine.program_runner import RecordingMonitor, Registration
from local_stack.engine.pulumi_sdk import Unknown, has_unknown
from local_stack.engine.target import SNOWFLAKE_PROVIDER, LocalCloud, canonical
from local_stack.services.checkpoint import DeployState

TABLE = "snowflake:index/table:Table"

# Properties whose change replaces the resource: `ForceNew: true` in
# terraform-provider-snowflake's pkg/resources/<type>.go schemas (execute.go:
# a CustomizeDiff ForceNewIfChange on `execute`), pulumi-aws's bucket name.
REPLACE_ON_CHANGE: dict[str, frozenset[str]] = {
    "snowflake:index/pipe:Pipe": frozenset(
        {"autoIngest", "awsSnsTopicArn", "copyStatement", "database", "name", "schema"}
    ),
    TABLE: frozenset({"database", "schema"}),
    "snowflake:index/view:View": frozenset({"database", "schema"}),
    "snowflake:index/task:Task": frozenset({"database", "name", "schema"}),
    "snowflake:index/schema:Schema": frozenset({"database", "isTransient"}),
    "snowflake:index/database:Database": frozenset({"isTransient"}),
    "snowflake:index/resourceMonitor:ResourceMonitor": frozenset({"name"}),
    "snowflake:index/execute:Execute": frozenset({"execute"}),
    "snowflake:index/grantAccountRole:GrantAccountRole": frozenset({"parentRoleName", "roleName", "userName"}),
    "aws:s3/bucket:Bucket": frozenset({"bucket", "bucketPrefix"}),
    "aws:iam/role:Role": frozenset({"name"}),
}
# Properties the provider reads back from the object, with the schema default
# that applies when the program leaves them out (table.go: change_tracking
# Optional, Default false).
REFRESHED: dict[str, dict[str, Any]] = {TABLE: {"changeTracking": False}}


class PreviewError(RuntimeError):
    """The preview failed as `pulumi preview` would (a provider login, an invoke)."""


@dataclass
class Step:
    op: str  # create | update | replace | delete | same | read
    type: str
    name: str
    changed: tuple[str, ...] = ()


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)
    configured: list[str] = field(default_factory=list)
    """Providers the preview configured (logged in)."""
    not_configured: list[str] = field(default_factory=list)
    """Providers left unconfigured: an input was unknown."""

    def of(self, op: str) -> list[Step]:
        return [s for s in self.steps if s.op == op]

    @property
    def changes(self) -> list[Step]:
        return [s for s in self.steps if s.op not in ("same", "read")]

    def render(self) -> str:
        signs = {"create": "+", "update": "~", "replace": "+-", "delete": "-", "same": " ", "read": ">"}
        lines = [
            f"  {signs[s.op]:<2} {s.op:<8} {s.type} {s.name}" + (f"  [{', '.join(s.changed)}]" if s.changed else "")
            for s in self.steps
            if s.op != "same"
        ]
        counts = {op: len(self.of(op)) for op in ("create", "update", "replace", "delete", "same")}
        summary = ", ".join(f"{n} to {op}" for op, n in counts.items() if n and op != "same")
        return "\n".join([*lines, f"Resources: {summary or 'no changes'} ({counts['same']} unchanged)"])


def _known(value: Any) -> Any:
    """The value without its unknown parts (they resolve as unknown in the program)."""
    if isinstance(value, dict):
        return {k: _known(v) for k, v in value.items() if not isinstance(v, Unknown)}
    if isinstance(value, list):
        return [_known(v) for v in value if not isinstance(v, Unknown)]
    return value


class PreviewMonitor(RecordingMonitor):
    """Answers every registration as the engine does in a preview; creates and deletes nothing."""

    def __init__(self, cloud: LocalCloud, state: DeployState):
        super().__init__(cloud)
        self.context: LocalContext = cloud.context
        self.state = state
        self.plan = Plan()

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        if request.type == "pulumi:pulumi:Stack" or not request.custom:
            return super().RegisterResource(request)
        urn = self.make_urn(request.parent, request.type, request.name)
        inputs = pulumi_sdk.deserialize(request.object, keep_unknowns=True)
        if request.type.startswith("pulumi:providers:"):
            return self._provider(request, urn, inputs)
        prior = self.state.resources.get(urn)
        if prior is None:
            self.plan.steps.append(Step("create", request.type, request.name))
            return self._answer(request, urn, "", _known(inputs), inputs)
        changed = self._changed(request.type, inputs, prior.inputs, prior.outputs)
        replace = changed & REPLACE_ON_CHANGE.get(request.type, frozenset())
        op = "replace" if replace else "update" if changed else "same"
        self.plan.steps.append(Step(op, request.type, request.name, tuple(sorted(changed))))
        if op == "replace":
            return self._answer(request, urn, "", _known(inputs), inputs)
        return self._answer(request, urn, prior.id, {**prior.outputs, **_known(inputs)}, inputs)

    def ReadResource(self, request):  # noqa: N802 (gRPC method name)
        # The engine reads during a preview too, through the resource's provider.
        self.plan.steps.append(Step("read", request.type, request.name))
        return super().ReadResource(request)

    def _provider(self, request, urn: str, inputs: dict):
        if has_unknown(inputs):
            self.plan.not_configured.append(request.name)
        else:
            if request.type == SNOWFLAKE_PROVIDER:
                self.mocks.sessions[f"{request.name}-provider"] = self.context.account.login(
                    request.name, dynamic_resources.reveal(inputs)
                )
            self.plan.configured.append(request.name)
        return self._answer(request, urn, f"{request.name}-provider", _known(inputs), inputs)

    @staticmethod
    def _changed(type_token: str, inputs: dict, prior_inputs: dict, prior_outputs: dict) -> set[str]:
        refreshed = REFRESHED.get(type_token, {})
        changed = {
            key
            for key in {*inputs, *prior_inputs} - set(refreshed)
            if has_unknown(inputs.get(key)) or canonical(inputs.get(key)) != canonical(prior_inputs.get(key))
        }
        for key, default in refreshed.items():
            if key in prior_outputs and canonical(inputs.get(key, default)) != canonical(prior_outputs[key]):
                changed.add(key)
        return changed

    def _answer(self, request, urn: str, resource_id: str, outputs: dict, inputs: dict):
        self.registrations[urn] = Registration(
            urn=urn,
            type=request.type,
            name=request.name,
            custom=True,
            parent=request.parent,
            dependencies=set(request.dependencies),
            inputs=inputs,
            provider=request.provider,
            id=resource_id or None,
            outputs=outputs,
        )
        return pulumi_sdk.answer(self, urn, resource_id, outputs)

    def finish(self) -> Plan:
        declared = set(self.registrations)
        for urn, resource in self.state.resources.items():
            if urn not in declared and resource.custom and not resource.type.startswith("pulumi:providers:"):
                self.plan.steps.append(Step("delete", resource.type, resource.name))
        return self.plan


def refresh(context: LocalContext) -> list[str]:
    """`pulumi refresh`: reads back what the provider reads into the state; returns what changed."""
    state = DeployState.load(context.state_dir)
    changed = []
    for resource in list(state.resources.values()):
        if resource.type != TABLE:
            continue
        path = (resource.inputs["database"], resource.inputs["schema"], resource.inputs["name"])
        tracked = path in context.account.change_tracked
        if resource.outputs.get("changeTracking") != tracked:
            changed.append(f"{resource.name}: changeTracking {resource.outputs.get('changeTracking')} -> {tracked}")
            resource.outputs = {**resource.outputs, "changeTracking": tracked}
            state.put(resource)
    return changed


def dumps(plan: Plan) -> str:
    return json.dumps([s.__dict__ for s in plan.steps], indent=1)
