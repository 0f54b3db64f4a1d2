"""The local deploy target: the mock runtime's answers, created for real in the emulators.

`LocalCloud` is a `pulumi.runtime.Mocks` that looks each registration's type
token up in HANDLERS and lets that handler create the resource in moto or
fakesnow. Adding a resource type is one small function and one table entry
(aws_handlers.py, snowflake_handlers.py). An unknown type fails loudly, and
any failure names the resource type and name.

`DeployMonitor` keeps the deploy's state (services/checkpoint.py) as the Pulumi
engine keeps a checkpoint: a resource already in the state with the same
inputs is left alone, so a second deploy of an unchanged program creates
nothing and a deploy after a failed one creates only what is missing.

Snowflake resources run in the session of the provider they name: each
provider logs in when it is registered, under the rules of a real account
(snowflake_account.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pulumi

from local_stack.account import aws_handlers, dynamic_resources, snowflake_handlers
from local_stack.account.context import Handler, LocalContext, Outputs
from local_stack.account.snowflake_account import SnowflakeAccount
from local_stack.engine import pulumi_sdk
from local_stack.engine.program_runner import RecordingMonitor, Registration
from local_stack.errors import LocalDeployError
from local_stack.services import state as local_state
from local_stack.services.checkpoint import DeployState, StateResource

SNOWFLAKE_PROVIDER = "pulumi:providers:snowflake"


def _dynamic(ctx: LocalContext, _name: str, inputs: Outputs) -> tuple[str, Outputs]:
    return dynamic_resources.create(inputs, adapt=ctx.adapt_dynamic)


HANDLERS: dict[str, Handler] = {
    **aws_handlers.HANDLERS,
    **snowflake_handlers.HANDLERS,
    "pulumi-python:dynamic:Resource": _dynamic,
}


def handler_token(type_token: str) -> str:
    # Python dynamic resources register as pulumi-python:dynamic[/module:Name].
    return "pulumi-python:dynamic:Resource" if type_token.startswith("pulumi-python:dynamic") else type_token


class LocalCloud(pulumi.runtime.Mocks):
    def __init__(self, context: LocalContext, on_created: Callable[[str, str], None] | None = None):
        self.context = context
        self.on_created = on_created or (lambda _type, _name: None)
        self.sessions: dict[str, Any] = {}

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            identity = self.context.aws("sts").get_caller_identity()
            return {"accountId": identity["Account"], "arn": identity["Arn"], "userId": identity["UserId"]}, []
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}, []
        raise LocalDeployError(f"the local deploy has no answer for invoke {args.token}")

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        if args.custom is None and args.resource_id:
            return self._read(args)
        if not args.custom:
            return "", {}
        if args.typ.startswith("pulumi:providers:"):
            provider_id = f"{args.name}-provider"
            if args.typ == SNOWFLAKE_PROVIDER:
                # Configuring a provider is its login (pulumi-snowflake connects in its configure step).
                self.sessions[provider_id] = self.context.account.login(
                    args.name, dynamic_resources.reveal(args.inputs)
                )
            return provider_id, dict(args.inputs)
        handler = HANDLERS.get(handler_token(args.typ))
        if handler is None:
            raise LocalDeployError(
                f"{args.typ} '{args.name}': the local deploy has no handler for this resource type; "
                "add one to local_stack/account/aws_handlers.py or snowflake_handlers.py"
            )
        provider_id = args.provider.rsplit("::", 1)[-1] if args.provider else ""
        if args.typ.startswith("snowflake:") and provider_id not in self.sessions:
            raise LocalDeployError(
                f"{args.typ} '{args.name}' uses no explicit Snowflake provider: the program's providers "
                "(infra/snowflake_provider.py) must reach it through its component's opts"
            )
        self.context.in_session(self.sessions.get(provider_id))
        try:
            resource_id, outputs = handler(self.context, args.name, dict(args.inputs))
        except LocalDeployError as err:
            if args.name in str(err):
                raise
            raise type(err)(f"{args.typ} '{args.name}': {err}") from err
        except Exception as err:
            raise LocalDeployError(f"{args.typ} '{args.name}': {type(err).__name__}: {err}") from err
        finally:
            self.context.in_session(None)
        self.on_created(args.typ, args.name)
        return resource_id, outputs

    def _read(self, args: pulumi.runtime.MockResourceArgs):
        """`<Resource>.get`: the provider reads an object that exists outside the stack, in its session."""
        reader = snowflake_handlers.READERS.get(args.typ)
        if reader is None:
            raise LocalDeployError(f"{args.typ} '{args.name}': the local deploy cannot read this type (READERS)")
        provider_id = args.provider.rsplit("::", 1)[-1] if args.provider else ""
        self.context.in_session(self.sessions.get(provider_id))
        try:
            return reader(self.context, args.name, args.resource_id)
        finally:
            self.context.in_session(None)


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


class DeployMonitor(RecordingMonitor):
    """Creates what the state lacks, leaves alone what it has with the same inputs, refuses updates."""

    def __init__(self, mocks: LocalCloud, state: DeployState):
        super().__init__(mocks)
        self.state = state
        self.created: list[str] = []
        self.unchanged: list[str] = []

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        if request.type == "pulumi:pulumi:Stack":
            return super().RegisterResource(request)
        urn = self.make_urn(request.parent, request.type, request.name)
        prior = self.state.resources.get(urn)
        is_provider = request.type.startswith("pulumi:providers:")
        if prior is not None and request.custom and not is_provider:
            inputs = pulumi_sdk.deserialize(request.object)
            if canonical(inputs) != canonical(prior.inputs):
                changed = sorted(
                    k for k in {*inputs, *prior.inputs} if canonical(inputs.get(k)) != canonical(prior.inputs.get(k))
                )
                raise LocalDeployError(
                    f"{request.type} '{request.name}' changed since it was deployed ({', '.join(changed)}): the "
                    "local deploy creates and keeps resources but does not update them; start a fresh local stack "
                    "(`make local-down && make local-up`)"
                )
            return self._unchanged(request, prior)
        response = super().RegisterResource(request)
        registered = self.registrations[response.urn]
        self.state.put(_state_of(registered))
        if request.custom and not is_provider:
            self.created.append(response.urn)
        return response

    def ReadResource(self, request):  # noqa: N802 (gRPC method name)
        response = super().ReadResource(request)
        self.state.put(_state_of(self.registrations[response.urn]))
        return response

    def _unchanged(self, request, prior: StateResource):
        self.registrations[prior.urn] = Registration(
            urn=prior.urn,
            type=prior.type,
            name=prior.name,
            custom=True,
            parent=request.parent,
            dependencies=set(request.dependencies),
            inputs=prior.inputs,
            provider=request.provider,
            id=prior.id,
            outputs=prior.outputs,
        )
        self.unchanged.append(prior.urn)
        return pulumi_sdk.answer(self, prior.urn, prior.id, prior.outputs)


def _state_of(registered: Registration) -> StateResource:
    return StateResource(
        urn=registered.urn,
        type=registered.type,
        name=registered.name,
        custom=registered.custom,
        id=registered.id or "",
        inputs=registered.inputs,
        outputs=registered.outputs,
        parent=registered.parent,
        dependencies=sorted(registered.dependencies),
        provider=registered.provider,
        external=registered.external,
    )


def save_context(context: LocalContext) -> None:
    """The records the Snowpipe worker, `make local-status`, a second deploy and destroy read."""
    state = context.state_dir
    local_state.write_pipes(state, context.pipes)
    local_state.write_document(state, local_state.SNOWFLAKE_OBJECTS_FILE, context.recorded)
    local_state.write_document(
        state, local_state.ACCOUNT_FILE, {"stages": context.stages, "account": context.account.to_json()}
    )


def restore_context(context: LocalContext) -> None:
    """What an earlier deploy of this stack left (nothing for a fresh stack)."""
    state = context.state_dir
    saved = local_state.read_document(state, local_state.ACCOUNT_FILE)
    if saved is not None:
        context.stages = saved["stages"]
        context.account = SnowflakeAccount.from_json(saved["account"])
    if (state / local_state.PIPES_FILE).exists():
        context.pipes = local_state.read_pipes(state)
    context.recorded = local_state.read_document(state, local_state.SNOWFLAKE_OBJECTS_FILE, context.recorded)
