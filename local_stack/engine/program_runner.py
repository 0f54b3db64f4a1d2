"""Runs the project's __main__.py through the Pulumi SDK's mock runtime.

The Pulumi CLI cannot run here, but the SDK's mock runtime can: it hands every
resource registration to a `Mocks` object. Tests plug in a made-up cloud, the
local deploy plugs in handlers that create the resources in the emulators.
Both get the same record of what the program declared: each resource's
inputs, outputs, parent and dependencies, and the stack's exports.
"""

from __future__ import annotations

import gc
import json
import runpy
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml

from infra.wire_format import SECRET_SIG, SECRET_SIG_KEY
from local_stack.engine import pulumi_sdk

PROJECT_DIR = Path(__file__).resolve().parents[2]


class StackConfigError(ValueError):
    """A Pulumi.<stack>.yaml cannot be evaluated without the Pulumi CLI."""


@dataclass
class Registration:
    urn: str
    type: str
    name: str
    custom: bool
    parent: str
    dependencies: set[str]
    inputs: dict[str, Any]
    provider: str = ""  # "<provider urn>::<provider id>", as the engine references it
    id: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    protect: bool = False
    delete_before_replace: bool = False
    replace_with: tuple[str, ...] = ()
    """URNs whose replacement replaces this resource too (the engine forces it, create-before-delete by default)."""
    external: bool = False
    """Read with `<Resource>.get`: in the state, never created or deleted by the stack."""
    alias_parents: tuple[str, ...] = ()
    """Parent URNs its aliases name: where an existing stack holds it, if it moved."""


@dataclass
class ProgramRun:
    registrations: dict[str, Registration]
    exports: dict[str, Any]
    stack_outputs: dict[str, Any] = field(default_factory=dict)
    """The exports as registered: secret values keep Pulumi's secret wrapper."""
    config: dict[str, str] = field(default_factory=dict)
    secret_keys: tuple[str, ...] = ()

    def of_type(self, type_token: str) -> list[Registration]:
        return [r for r in self.registrations.values() if r.type == type_token]

    def one(self, type_token: str) -> Registration:
        found = self.of_type(type_token)
        if len(found) != 1:
            raise AssertionError(f"expected exactly one {type_token}, the program declared {len(found)}")
        return found[0]

    def named(self, name: str) -> Registration:
        for registration in self.registrations.values():
            if registration.name == name:
                return registration
        raise KeyError(f"the program declared no resource named {name!r}")


class RecordingMonitor(pulumi_sdk.MockMonitor):
    """The SDK's mock monitor, also recording parents and dependencies."""

    def __init__(self, mocks: pulumi.runtime.Mocks):
        super().__init__(mocks)
        self.registrations: dict[str, Registration] = {}

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        registered = self.resources.get(response.urn)
        self.registrations[response.urn] = Registration(
            urn=response.urn,
            type=request.type,
            name=request.name,
            custom=bool(request.custom),
            parent=request.parent,
            dependencies=set(request.dependencies),
            inputs=pulumi_sdk.deserialize(request.object),
            provider=request.provider,
            id=registered.id if registered else None,
            outputs=dict(registered.state) if registered else {},
            protect=bool(request.protect),
            delete_before_replace=bool(request.deleteBeforeReplace),
            replace_with=tuple(request.replace_with),
            alias_parents=tuple(a.spec.parentUrn for a in request.aliases if a.HasField("spec") and a.spec.parentUrn),
        )
        return response

    def ReadResource(self, request):  # noqa: N802 (gRPC method name)
        response = super().ReadResource(request)
        registered = self.resources[response.urn]
        self.registrations[response.urn] = Registration(
            urn=response.urn,
            type=request.type,
            name=request.name,
            custom=True,
            parent=request.parent,
            dependencies=set(request.dependencies),
            inputs={},
            provider=request.provider,
            id=registered.id,
            outputs=dict(registered.state),
            external=True,
        )
        return response


def _yaml(text: str) -> Any:
    # libyaml's safe loader when PyYAML has it: the stack files are read on every evaluation of the program.
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def stack_config(stack: str, project_dir: Path = PROJECT_DIR, skip_secrets: bool = False) -> dict[str, str]:
    """What the Pulumi CLI would hand the program: Pulumi.yaml defaults, then Pulumi.<stack>.yaml.

    `skip_secrets`: leave encrypted values out instead of refusing them (for readers that need none).
    """
    project = _yaml((project_dir / "Pulumi.yaml").read_text())
    namespace = project["name"]
    config: dict[str, str] = {}
    for key, declaration in (project.get("config") or {}).items():
        full_key = key if ":" in key else f"{namespace}:{key}"
        if isinstance(declaration, dict) and "default" in declaration:
            config[full_key] = _as_config_string(declaration["default"])
        elif isinstance(declaration, dict) and "value" in declaration:
            config[full_key] = _as_config_string(declaration["value"])
    stack_file = project_dir / f"Pulumi.{stack}.yaml"
    if not stack_file.exists():
        raise StackConfigError(f"{stack_file} does not exist")
    for key, value in ((_yaml(stack_file.read_text()) or {}).get("config") or {}).items():
        if isinstance(value, dict) and "secure" in value:
            if skip_secrets:
                continue
            raise StackConfigError(
                f"{stack_file.name}: {key} is encrypted; only the Pulumi CLI can decrypt it. "
                "Pass the value as a secret override instead."
            )
        config[key if ":" in key else f"{namespace}:{key}"] = _as_config_string(value)
    return config


def _as_config_string(value: Any) -> str:
    # The CLI passes non-string values to the program as JSON text.
    return value if isinstance(value, str) else json.dumps(value)


# Young collections during a program run: one every this many allocations instead of CPython's 700.
RUN_GC_THRESHOLD = 20_000


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Collects young garbage less often while the program runs; the process's thresholds come back after.

    A run allocates Outputs, futures and tasks by the thousand, most dead within the run. At CPython's default
    threshold many survive a young collection, get promoted, and soon trigger a full one, which walks the provider
    SDKs' ~300k module objects each time. Measured on 2 cores: a first run, imports included, 2.5-3.0 CPU-s at the
    default and 2.0-2.1 here; six further runs 1.8-2.1 and 1.2-1.5.
    """
    previous = gc.get_threshold()
    gc.set_threshold(RUN_GC_THRESHOLD, *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)


def run_program(
    mocks: pulumi.runtime.Mocks,
    stack: str,
    overrides: dict[str, str] | None = None,
    secret_keys: tuple[str, ...] = (),
    project_dir: Path = PROJECT_DIR,
    monitor: RecordingMonitor | None = None,
    preview: bool = False,
) -> ProgramRun:
    """Evaluates __main__.py once with `mocks` answering every registration and invoke.

    `monitor` replaces the recording monitor (the local deploy's keeps state).
    `preview`: a dry run, as `pulumi preview` runs the program: an id or
    output the monitor leaves out resolves as unknown.
    """
    config = {**stack_config(stack, project_dir), **(overrides or {})}
    project = _yaml((project_dir / "Pulumi.yaml").read_text())["name"]

    pulumi_sdk.reset_root()
    pulumi.runtime.set_all_config(config, list(secret_keys))
    monitor = monitor or RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=preview, monitor=monitor)
    if str(project_dir) not in sys.path:
        sys.path.insert(0, str(project_dir))

    exports: dict[str, Any] = {}
    registered_exports: dict[str, Any] = {}

    def keep_secretness(values: dict[str, Any], secret: dict[str, bool]) -> None:
        exports.update(values)
        registered_exports.update(
            {name: {SECRET_SIG_KEY: SECRET_SIG, "value": v} if secret[name] else v for name, v in values.items()}
        )

    @pulumi.runtime.test
    def evaluate():
        runpy.run_path(str(project_dir / "__main__.py"), run_name="__main__")
        stack_outputs = pulumi_sdk.root_outputs()
        # The mock runtime registers the root stack's outputs before the
        # program runs; read each export's secretness from the Output itself.
        secretness = {k: pulumi.Output.from_input(o.is_secret()) for k, o in stack_outputs.items()}
        return pulumi.Output.all(pulumi.Output.all(**stack_outputs), pulumi.Output.all(**secretness)).apply(
            lambda pair: keep_secretness(*pair)
        )

    with _fewer_collections(), pulumi_sdk.in_flight_operations_finish(), pulumi_sdk.without_source_positions():
        evaluate()
    return ProgramRun(
        registrations=monitor.registrations,
        exports=exports,
        stack_outputs=registered_exports,
        config=config,
        secret_keys=tuple(secret_keys),
    )
