"""Bringing the whole local stack up and down.

up:   moto + fakesnow (+ Superset) on 127.0.0.1, the UNCHANGED Pulumi program
      deployed onto them through the mock runtime (LocalCloud), then the local
      Snowpipe worker and the task runner. Writes .local/endpoints.json.
down: stops every process `up` started, by PID, and checks the ports are free.
"""

from __future__ import annotations

import os
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from local_stack.errors import LocalStackError
from local_stack.services import processes
from local_stack.services import state as local_state

if TYPE_CHECKING:
    from local_stack.account.context import LocalContext
    from local_stack.engine.preview import Plan

if TYPE_CHECKING:
    from policy import checks

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_STATE_DIR = PROJECT_DIR / ".local"
WORKER = "snowpipe"  # the worker's tracked process name
LOCAL_STACK = "local"
SECRET_KEYS = ("ecommerce-analytics:supersetPassword", "ecommerce-analytics:dashboardUserPrivateKey")
STREAMING_KEY_FILE = "streaming_rsa_key.p8"


@dataclass
class LocalStackSettings:
    state_dir: Path = DEFAULT_STATE_DIR
    moto_port: int = 0
    snowflake_port: int = 0
    superset: bool = True
    superset_port: int = 8088
    streaming_port: int = 0

    @classmethod
    def from_environment(cls, state_dir: Path = DEFAULT_STATE_DIR) -> LocalStackSettings:
        """MOTO_PORT, SNOWFLAKE_PORT, SUPERSET_PORT, STREAMING_PORT (0 = any free port) and SUPERSET=0|1."""

        def port(variable: str, default: int) -> int:
            value = os.environ.get(variable, str(default))
            if not value.isdigit() or int(value) > 65535:
                raise LocalStackError(f"{variable}={value!r} is not a port number (0-65535; 0 = any free port)")
            return int(value)

        superset = os.environ.get("SUPERSET", "1")
        if superset not in ("0", "1"):
            raise LocalStackError(f"SUPERSET={superset!r}: use SUPERSET=0 (no Superset) or SUPERSET=1")
        return cls(
            state_dir=state_dir,
            moto_port=port("MOTO_PORT", 0),
            snowflake_port=port("SNOWFLAKE_PORT", 0),
            superset=superset == "1",
            superset_port=port("SUPERSET_PORT", 8088),
            streaming_port=port("STREAMING_PORT", 0),
        )


Progress = Callable[[str], None]


def _http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=1) as response:
        return response.status == 200


def _tcp_open(port: int) -> bool:
    return not processes.port_is_free(port)


def up(settings: LocalStackSettings, progress: Progress = print, start_worker: bool = True) -> local_state.Endpoints:
    """Starts everything and returns the endpoints; on any failure stops what it started."""
    state = settings.state_dir
    state.mkdir(parents=True, exist_ok=True)
    running = [p for p in processes.read_tracked(state) if processes.alive(p.pid)]
    if running:
        raise LocalStackError(
            "a local stack is already running ("
            + ", ".join(f"{p.name} pid {p.pid}" for p in running)
            + "): stop it with `make local-down` first"
        )
    for name in local_state.RUN_FILES:
        (state / name).unlink(missing_ok=True)

    superset_port = (
        processes.choose_port(settings.superset_port, "SUPERSET_PORT", "Superset") if settings.superset else None
    )
    try:
        started = time.monotonic()
        s3_endpoint, snowflake_port = start_emulators(settings, progress)

        overrides: dict[str, str] = {}
        superset_endpoint: dict[str, str] = {}
        if superset_port is not None:
            superset_endpoint = _start_superset(state, superset_port, progress)
            # The same key-pair login a cloud stack uses, with a throwaway key
            # (fakesnow accepts any); only the driver's endpoint differs, and
            # the deploy sets that where it creates the import (deploy()).
            public_key, private_key = throwaway_key_pair()
            overrides = {
                "ecommerce-analytics:supersetUrl": superset_endpoint["superset_url"],
                "ecommerce-analytics:supersetUsername": superset_endpoint["superset_username"],
                "ecommerce-analytics:supersetPassword": superset_endpoint["superset_password"],
                "ecommerce-analytics:dashboardUserPublicKey": public_key,
                "ecommerce-analytics:dashboardUserPrivateKey": private_key,
            }

        # The streaming producer's service user gets a throwaway key too; its
        # private half stays in the state dir for the local producer.
        streaming_public_key, streaming_private_key = throwaway_key_pair()
        key_file = state / STREAMING_KEY_FILE
        key_file.write_text(streaming_private_key)
        os.chmod(key_file, 0o600)
        overrides["ecommerce-analytics:streamingUserPublicKey"] = streaming_public_key

        progress("deploying the Pulumi program (Pulumi.local.yaml) onto the emulators")
        deploy_started = time.monotonic()
        run = deploy(state, s3_endpoint, snowflake_port, overrides)
        progress(f"deployed {len(run.resources)} resources in {time.monotonic() - deploy_started:.1f} s")
        if run.policy_advisories:
            from local_stack.engine import policy_gate

            progress(policy_gate.report_advisories(run.policy_advisories, state / local_state.ADVISORIES_FILE))

        exports = run.exports
        endpoints = local_state.Endpoints(
            s3_endpoint_url=s3_endpoint,
            region=exports["aws_region"],
            bucket=exports["bucket"],
            events_prefix=exports["events_prefix"],
            snowflake=local_state.SnowflakeEndpoint(
                host="127.0.0.1",
                port=snowflake_port,
                protocol="http",
                database=exports["database"],
                schema=exports["schema"],
            ),
            **superset_endpoint,
            dashboard_url=exports.get("dashboard_url"),
        )
        local_state.write_endpoints(state, endpoints)
        streaming = _streaming_endpoint(state, settings, exports)

        if start_worker:
            progress("starting the local Snowpipe worker")
            start_snowpipe_worker(state)
            start_task_runner(state, progress)
            if streaming is not None:
                start_streaming_emulator(state, streaming, progress)
        progress(f"local stack up in {time.monotonic() - started:.1f} s")
        return endpoints
    except BaseException:
        processes.stop_all(state)
        raise


def start_snowpipe_worker(
    state: Path, extra_args: list[str] | None = None, env: dict[str, str] | None = None, restart: bool = False
) -> processes.TrackedProcess:
    """The local Snowpipe worker (local_stack/snowpipe/), tracked, returned once it polls.

    `restart` appends to the log of the worker it replaces, so its earlier lines stay readable.
    """
    from local_stack.snowpipe.worker import READY_LINE

    command = [sys.executable, "-m", "local_stack.snowpipe", "--state-dir", str(state), *(extra_args or [])]
    log = state / f"{WORKER}.log"
    before = log.read_text(errors="replace").count(READY_LINE) if restart and log.exists() else 0
    worker = processes.start(state, WORKER, command, None, env=env, append=restart)
    processes.wait_ready(
        worker, lambda: Path(worker.log).read_text(errors="replace").count(READY_LINE) > before, timeout=30
    )
    return worker


def _streaming_endpoint(
    state: Path, settings: LocalStackSettings, exports: dict[str, Any]
) -> local_state.StreamingEndpoint | None:
    """`.local/streaming.json` when the program declared the streaming path (ingestion streaming or both)."""
    if "streaming_pipe_name" not in exports:
        return None
    port = processes.choose_port(settings.streaming_port, "STREAMING_PORT", "the Snowpipe Streaming emulator")
    endpoint = local_state.StreamingEndpoint(
        url=f"http://127.0.0.1:{port}",
        account="LOCAL",
        user=exports["streaming_user"],
        pipe=f"{exports['database']}.{exports['schema']}.{exports['streaming_pipe_name']}",
        private_key_file=str(state / STREAMING_KEY_FILE),
    )
    local_state.write_streaming(state, endpoint)
    return endpoint


def start_streaming_emulator(
    state: Path, endpoint: local_state.StreamingEndpoint, progress: Progress = print, env: dict | None = None
) -> processes.TrackedProcess:
    """The Snowpipe Streaming API emulator (local_stack/streaming/), tracked like every other process."""
    from local_stack.streaming.emulator import READY_LINE

    port = int(endpoint.url.rsplit(":", 1)[1])
    progress(f"starting the Snowpipe Streaming emulator on {endpoint.url}")
    command = [sys.executable, "-m", "local_stack.streaming", "--state-dir", str(state), "--port", str(port),
               "--account", endpoint.account]  # fmt: skip
    emulator = processes.start(state, "streaming", command, port, env=env)
    processes.wait_ready(emulator, lambda: READY_LINE in Path(emulator.log).read_text(), timeout=60)
    return emulator


def start_emulators(settings: LocalStackSettings, progress: Progress = print) -> tuple[str, int]:
    """moto and fakesnow, tracked in the state dir; returns (S3 endpoint URL, Snowflake port)."""
    state = settings.state_dir
    moto_port = processes.choose_port(settings.moto_port, "MOTO_PORT", "the S3/SQS/IAM emulator (moto)")
    snowflake_port = processes.choose_port(settings.snowflake_port, "SNOWFLAKE_PORT", "the Snowflake emulator")
    progress(f"starting moto on 127.0.0.1:{moto_port} and fakesnow on 127.0.0.1:{snowflake_port}")
    # Both are launched before either is waited for: their start-ups overlap.
    moto = launch_moto(state, moto_port)
    fakesnow = launch_snowflake(state, snowflake_port)
    return moto_ready(moto), snowflake_ready(fakesnow)


def launch_moto(state: Path, port: int) -> processes.TrackedProcess:
    command = [sys.executable, "-m", "local_stack.emulators.moto_server", "-H", "127.0.0.1", "-p", str(port)]
    return processes.start(state, "moto", command, port)


def moto_ready(moto: processes.TrackedProcess) -> str:
    """Waits for moto's own API to answer; returns its endpoint URL."""
    endpoint = f"http://127.0.0.1:{moto.port}"
    processes.wait_ready(moto, lambda: _http_ok(f"{endpoint}/moto-api/"), timeout=30)
    return endpoint


def launch_snowflake(state: Path, port: int, allow_reset: bool = False) -> processes.TrackedProcess:
    """The local Snowflake, serving the stack in `state` (its pipes' status, its credit meter).

    `allow_reset`: the server can be emptied and pointed at another stack (local_stack/emulators/snowflake_server.py).
    """
    command = [sys.executable, "-m", "local_stack.emulators.snowflake_server", "--port", str(port), "--state-dir",
               str(state), *(["--allow-reset"] if allow_reset else [])]  # fmt: skip
    return processes.start(state, "fakesnow", command, port)


def snowflake_ready(fakesnow: processes.TrackedProcess) -> int:
    """Waits for the local Snowflake to accept connections; returns its port."""
    processes.wait_ready(fakesnow, lambda: _tcp_open(fakesnow.port), timeout=30)
    return fakesnow.port


def start_task_runner(state: Path, progress: Progress) -> None:
    from local_stack.tasks.spec import LOCAL_INTERVAL_SECONDS, READY_LINE

    progress(f"starting the local task runner (the deployed tasks, every {LOCAL_INTERVAL_SECONDS} s)")
    command = [sys.executable, "-m", "local_stack.tasks", "--state-dir", str(state)]
    runner = processes.start(state, "task-runner", [*command, "--interval-seconds", str(LOCAL_INTERVAL_SECONDS)], None)
    processes.wait_ready(runner, lambda: READY_LINE in Path(runner.log).read_text(), timeout=60)


def _start_superset(state: Path, port: int, progress: Progress) -> dict[str, str]:

    from local_stack.emulators import superset_server

    progress(f"starting Superset on 127.0.0.1:{port} (first run installs and bootstraps it: a few minutes)")
    superset_server.start(state, port=port)
    login = superset_server.credentials()
    return {
        "superset_url": f"http://127.0.0.1:{port}",
        "superset_username": login.username,
        "superset_password": login.password,
    }


def throwaway_key_pair() -> tuple[str, str]:
    """(public PEM, private PKCS#8 PEM): a new RSA key for the local dashboard user, never reused elsewhere."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return public, private


@dataclass
class DeployResult:
    resources: list[dict[str, Any]]
    exports: dict[str, Any]
    created: list[str]
    unchanged: list[str]
    declared: dict[str, dict[str, Any]]  # urn -> inputs, as the program declared them this run
    policy_advisories: list[checks.Violation]  # advisory findings of the policy pack


def deploy(state: Path, s3_endpoint: str, snowflake_port: int, overrides: dict[str, str] | None = None) -> DeployResult:
    """Runs __main__.py with Pulumi.local.yaml against the emulators, as `pulumi up` would.

    What an earlier deploy of this stack created (its state in `state`) is
    kept when its inputs are unchanged; `overrides` None re-uses the config of
    the earlier deploy (a second `up` of the same stack).
    """
    from local_stack.account.dynamic_resources import reveal
    from local_stack.engine.program_runner import run_program
    from local_stack.engine.target import DeployMonitor, LocalCloud, restore_context, save_context
    from local_stack.services.checkpoint import DeployState

    if overrides is None:
        overrides = local_state.read_document(state, local_state.DEPLOY_CONFIG_FILE, {})
    advisories = check_policies(overrides, SECRET_KEYS)
    # Private: the overrides hold the local Superset password and the throwaway key.
    local_state.write_document(state, local_state.DEPLOY_CONFIG_FILE, overrides, private=True)

    context = _deploy_context(state, s3_endpoint, snowflake_port)
    # Like `pulumi up`: the preview first, against the account as it is now.
    preview_program(context, overrides)
    restore_context(context)
    cloud = LocalCloud(context)
    monitor = DeployMonitor(cloud, DeployState.load(state))
    try:
        run = run_program(cloud, LOCAL_STACK, overrides=overrides, secret_keys=SECRET_KEYS, monitor=monitor)
    finally:
        save_context(context)
        context.close()
    result = DeployResult(
        resources=[{"type": r.type, "name": r.name, "id": r.id} for r in run.registrations.values() if r.custom],
        exports={k: v for k, v in reveal(run.exports).items() if "password" not in k},
        created=monitor.created,
        unchanged=monitor.unchanged,
        declared={urn: r.inputs for urn, r in run.registrations.items() if r.custom},
        policy_advisories=list(advisories),
    )
    record = {"resources": result.resources, "exports": result.exports}
    local_state.write_document(state, local_state.DEPLOY_RECORD_FILE, record)
    return result


def _deploy_context(state: Path, s3_endpoint: str, snowflake_port: int) -> LocalContext:
    from local_stack.account.context import LocalContext

    def point_superset_at_fakesnow(props: dict[str, Any]) -> dict[str, Any]:
        # The local target's one adaptation of a cloud input: Superset's
        # Snowflake driver reaches fakesnow instead of <account>.snowflakecomputing.com.
        if "connection" in props and "superset_url" in props:
            props = {
                **props,
                "connection": {**props["connection"], "host": "127.0.0.1", "port": snowflake_port, "protocol": "http"},
            }
        return props

    return LocalContext(
        s3_endpoint_url=s3_endpoint,
        region=stack_region(),
        snowflake_port=snowflake_port,
        state_dir=state,
        adapt_dynamic=point_superset_at_fakesnow,
    )


def preview_program(context: LocalContext, overrides: dict[str, str]) -> Plan:
    """`pulumi preview` against the strict account as it is now (local_stack/engine/preview.py); changes nothing."""
    from local_stack.engine.preview import PreviewMonitor
    from local_stack.engine.program_runner import run_program
    from local_stack.engine.target import LocalCloud, restore_context
    from local_stack.errors import LocalDeployError
    from local_stack.services.checkpoint import DeployState

    restore_context(context)
    monitor = PreviewMonitor(LocalCloud(context), DeployState.load(context.state_dir))
    try:
        run_program(
            monitor.mocks, LOCAL_STACK, overrides=overrides, secret_keys=SECRET_KEYS, monitor=monitor, preview=True
        )
    except LocalDeployError as err:
        raise type(err)(f"preview failed (nothing was changed): {err}") from err
    return monitor.finish()


def preview(state_dir: Path = DEFAULT_STATE_DIR) -> Plan:
    """`make local-preview`: the plan for the running local stack's program and config."""
    found = local_state.read_endpoints(state_dir)
    overrides = local_state.read_document(state_dir, local_state.DEPLOY_CONFIG_FILE, {})
    context = _deploy_context(state_dir, found.s3_endpoint_url, found.snowflake.port)
    try:
        return preview_program(context, overrides)
    finally:
        context.close()


def refresh(state_dir: Path = DEFAULT_STATE_DIR) -> list[str]:
    """`make local-refresh`: what the provider reads back, into the deploy state."""
    from local_stack.engine.preview import refresh as refresh_state
    from local_stack.engine.target import restore_context

    found = local_state.read_endpoints(state_dir)
    context = _deploy_context(state_dir, found.s3_endpoint_url, found.snowflake.port)
    restore_context(context)
    return refresh_state(context)


def check_policies(overrides: dict[str, str], secret_keys: tuple[str, ...]) -> list:
    """The policy pack's checks over a dry run of the program; refuses before anything exists.

    Raises LocalStackError naming each mandatory policy and resource; returns
    the advisory violations.
    """
    from local_stack.engine import policy_gate
    from local_stack.engine.planned_cloud import PlannedCloud
    from local_stack.engine.program_runner import run_program
    from policy import checks

    plan = run_program(PlannedCloud(), LOCAL_STACK, overrides=overrides, secret_keys=secret_keys)
    try:
        return checks.refuse_mandatory(policy_gate.violations(plan, LOCAL_STACK), LOCAL_STACK)
    except checks.PolicyViolationError as err:
        raise LocalStackError(str(err)) from err


def destroy(state_dir: Path = DEFAULT_STATE_DIR, progress: Progress = print) -> list[str]:
    """`pulumi destroy` of the running local stack; the emulators keep running (`down` stops them)."""
    from local_stack.account.context import LocalContext
    from local_stack.engine.destroy import destroy as destroy_resources

    found = local_state.read_endpoints(state_dir)
    # Snowflake's services stop with the pipe and the task they serve.
    if processes.stop(state_dir, WORKER):
        progress("stopped the local Snowpipe worker (its pipe is being dropped)")
    if processes.stop(state_dir, "task-runner"):
        progress("stopped the local task runner (its task is being dropped)")
    if processes.stop(state_dir, "streaming"):
        progress("stopped the Snowpipe Streaming emulator (its pipe is being dropped)")
    context = LocalContext(
        s3_endpoint_url=found.s3_endpoint_url,
        region=found.region,
        snowflake_port=found.snowflake.port,
        state_dir=state_dir,
    )
    try:
        return destroy_resources(context, progress).deleted
    finally:
        context.close()


def stack_region(stack_name: str = LOCAL_STACK) -> str:
    """aws:region of Pulumi.<stack>.yaml: the region the emulators play."""
    path = PROJECT_DIR / f"Pulumi.{stack_name}.yaml"
    region = (yaml.safe_load(path.read_text(encoding="utf-8")).get("config") or {}).get("aws:region")
    if not region:
        raise LocalStackError(f"{path} sets no aws:region: add `aws:region: <region>` under config")
    return region


def down(state_dir: Path = DEFAULT_STATE_DIR) -> list[str]:
    stopped = processes.stop_all(state_dir)
    (state_dir / local_state.ENDPOINTS_FILE).unlink(missing_ok=True)
    return stopped
