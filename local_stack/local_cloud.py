"""The local deploy target: the mock runtime's answers, created for real in the emulators.

`LocalCloud` is a `pulumi.runtime.Mocks` that looks each registration's type
token up in HANDLERS and lets that handler create the resource in moto or
fakesnow. Adding a resource type is one small function and one table entry
(aws_handlers.py, snowflake_handlers.py). An unknown type fails loudly, and
any failure names the resource type and name.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import snowflake.connector

from local_stack import dynamic_resources, endpoints
from local_stack import state as state_module

Outputs = dict[str, Any]
Handler = Callable[["LocalContext", str, Outputs], tuple[str, Outputs]]


class LocalDeployError(RuntimeError):
    """A resource could not be created in the emulators."""


@dataclass
class LocalContext:
    """What handlers share: emulator clients and the records the worker and status read."""

    s3_endpoint_url: str
    region: str
    snowflake_port: int
    state_dir: Path
    stages: dict[str, Outputs] = field(default_factory=dict)
    pipes: list[state_module.Pipe] = field(default_factory=list)
    recorded: list[Outputs] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _snowflake: Any = None

    def aws(self, service: str) -> Any:
        return endpoints.aws_client(self, service)

    def sql(self, statement: str) -> list[tuple]:
        """Runs one statement on the local Snowflake (one session, one statement at a time)."""
        with self._lock:
            if self._snowflake is None:
                # No database in the session: the deploy is what creates it.
                self._snowflake = snowflake.connector.connect(
                    host="127.0.0.1",
                    port=self.snowflake_port,
                    protocol="http",
                    user="deploy",
                    password="local",
                    account="local",
                    session_parameters={"CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False},
                )
            return self._snowflake.cursor().execute(statement).fetchall()

    def record(self, type_token: str, name: str, inputs: Outputs) -> None:
        """For objects fakesnow has no notion of (warehouses, roles, grants, users)."""
        with self._lock:
            self.recorded.append({"type": type_token, "name": name, "inputs": inputs})

    def close(self) -> None:
        if self._snowflake is not None:
            self._snowflake.close()


def _dynamic(_ctx: LocalContext, _name: str, inputs: Outputs) -> tuple[str, Outputs]:
    return dynamic_resources.create(inputs)


def _handlers() -> dict[str, Handler]:
    from local_stack import aws_handlers, snowflake_handlers

    return {
        **aws_handlers.HANDLERS,
        **snowflake_handlers.HANDLERS,
        "pulumi-python:dynamic:Resource": _dynamic,
    }


class LocalCloud(pulumi.runtime.Mocks):
    def __init__(self, context: LocalContext, on_created: Callable[[str, str], None] | None = None):
        self.context = context
        self.handlers = _handlers()
        self.on_created = on_created or (lambda _type, _name: None)

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            identity = self.context.aws("sts").get_caller_identity()
            return {"accountId": identity["Account"], "arn": identity["Arn"], "userId": identity["UserId"]}, []
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}, []
        raise LocalDeployError(f"the local deploy has no answer for invoke {args.token}")

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        if not args.custom:
            return "", {}
        if args.typ.startswith("pulumi:providers:"):
            return f"{args.name}-provider", {}
        # Python dynamic resources register as pulumi-python:dynamic[/module:Name].
        token = "pulumi-python:dynamic:Resource" if args.typ.startswith("pulumi-python:dynamic") else args.typ
        handler = self.handlers.get(token)
        if handler is None:
            raise LocalDeployError(
                f"{args.typ} '{args.name}': the local deploy has no handler for this resource type; "
                "add one to local_stack/aws_handlers.py or snowflake_handlers.py"
            )
        try:
            resource_id, outputs = handler(self.context, args.name, dict(args.inputs))
        except LocalDeployError:
            raise
        except Exception as err:
            raise LocalDeployError(f"{args.typ} '{args.name}': {type(err).__name__}: {err}") from err
        self.on_created(args.typ, args.name)
        return resource_id, outputs

    def write_state(self) -> None:
        """The records the Snowpipe worker and `make local-status` read."""
        state_dir = self.context.state_dir
        state_module.write_pipes(state_dir, self.context.pipes)
        (state_dir / "snowflake_objects.json").write_text(json.dumps(self.context.recorded, indent=2, default=str))
