"""The strict local target for tests: moto + fakesnow started in a temporary state dir, deployed on demand."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from local_stack import stack
from local_stack.account.snowflake_account import SnowflakeAccount
from local_stack.services import state as local_state
from local_stack.services.checkpoint import DeployState


class Emulators:
    def __init__(self, state_dir: Path, s3_endpoint: str, snowflake_port: int):
        self.state_dir = state_dir
        self.s3_endpoint = s3_endpoint
        self.snowflake_port = snowflake_port

    def deploy(self, overrides: dict[str, str] | None = None) -> stack.DeployResult:
        return stack.deploy(self.state_dir, self.s3_endpoint, self.snowflake_port, overrides)

    def preview(self, overrides: dict[str, str] | None = None):
        context = stack._deploy_context(self.state_dir, self.s3_endpoint, self.snowflake_port)
        try:
            return stack.preview_program(context, overrides or {})
        finally:
            context.close()

    def write_endpoints(self, result: stack.DeployResult) -> local_state.Endpoints:
        """What `make local-up` writes, for destroy and the clients."""
        found = local_state.Endpoints(
            s3_endpoint_url=self.s3_endpoint,
            region=result.exports["aws_region"],
            bucket=result.exports["bucket"],
            events_prefix=result.exports["events_prefix"],
            snowflake=local_state.SnowflakeEndpoint(
                host="127.0.0.1",
                port=self.snowflake_port,
                protocol="http",
                database=result.exports["database"],
                schema=result.exports["schema"],
            ),
        )
        local_state.write_endpoints(self.state_dir, found)
        return found


def snowflake_resources(state_dir: Path) -> list[str]:
    state = DeployState.load(state_dir)
    return sorted(
        f"{r.type} {r.name}" for r in state.resources.values() if r.custom and r.type.startswith("snowflake:")
    )


def edit_account(state_dir: Path, change: Callable[[SnowflakeAccount], None]) -> None:
    """Changes the local account outside the stack, as an administrator would (before or between deploys)."""
    fresh = {"stages": {}, "account": SnowflakeAccount().to_json()}
    saved = local_state.read_document(state_dir, local_state.ACCOUNT_FILE, fresh)
    account = SnowflakeAccount.from_json(saved["account"])
    change(account)
    local_state.write_document(state_dir, local_state.ACCOUNT_FILE, {**saved, "account": account.to_json()})
