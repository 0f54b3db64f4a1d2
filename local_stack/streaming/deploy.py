"""The local deploy's side of a streaming pipe, and what the emulator reads back of the account.

fakesnow cannot CREATE PIPE: like the other objects it cannot hold, a
streaming pipe is catalogued and recorded in .local/snowflake_objects.json
(local_stack/snowflake_handlers.py hands it here). The emulator reads the
pipes, the service users' public keys and the grants from those records, so
it refuses what Snowflake would refuse: a key that is not the user's, a
role without OPERATE on the pipe.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from infra.sql_source import is_streaming_copy
from local_stack.dynamic_resources import reveal
from local_stack.local_context import LocalContext, LocalDeployError, Outputs
from local_stack.snowpipe.copy_plan import parse_copy_target
from local_stack.streaming import channels

PIPE = "snowflake:index/pipe:Pipe"
SERVICE_USER = "snowflake:index/serviceUser:ServiceUser"
GRANT_PRIVILEGES = "snowflake:index/grantPrivilegesToAccountRole:GrantPrivilegesToAccountRole"
GRANT_ROLE = "snowflake:index/grantAccountRole:GrantAccountRole"
OBJECTS_FILE = "snowflake_objects.json"


def create_pipe(ctx: LocalContext, inputs: Outputs) -> tuple[str, Outputs]:
    """CREATE PIPE ... FROM TABLE(DATA_SOURCE(TYPE => 'STREAMING')): checks what Snowflake checks, records it."""
    database, schema, name = inputs["database"], inputs["schema"], inputs["name"]
    what = f"pipe {name}"
    ctx.account.require("SCHEMA", database, schema, needed_by=what)
    copy = inputs["copyStatement"]
    if not is_streaming_copy(copy):
        raise LocalDeployError(f"{what}: not a streaming pipe (no FROM TABLE(DATA_SOURCE(TYPE => 'STREAMING')))")
    ctx.account.require_qualified("TABLE", parse_copy_target(copy), needed_by=what)
    # The channels' offsets live beside the rows, so one transaction commits both.
    for statement in channels.ddl(database):
        ctx.sql(statement)
    ctx.account.add("PIPE", database, schema, name)
    qualified = f"{database}.{schema}.{name}"
    ctx.record(PIPE, qualified, reveal(inputs))
    fqn = ".".join(f'"{part}"' for part in (database, schema, name))
    return qualified, {**inputs, "fullyQualifiedName": fqn}


def drop_pipe(ctx: LocalContext, inputs: Outputs) -> None:
    """DROP PIPE drops its channels with it."""
    database, schema, name = inputs["database"], inputs["schema"], inputs["name"]
    ctx.account.drop("PIPE", database, schema, name)
    ctx.forget(PIPE, f"{database}.{schema}.{name}")


@dataclass(frozen=True)
class StreamingPipe:
    database: str
    schema: str
    name: str
    copy_statement: str

    @property
    def qualified(self) -> str:
        return f"{self.database}.{self.schema}.{self.name}"


@dataclass
class LocalAccount:
    """The records the emulator authorises against; names upper case, as unquoted identifiers resolve."""

    pipes: dict[str, StreamingPipe] = field(default_factory=dict)
    public_keys: dict[str, str] = field(default_factory=dict)  # user -> base64 RSA public key body
    user_roles: dict[str, set[str]] = field(default_factory=dict)
    privileges: set[tuple[str, str, str, str]] = field(default_factory=set)  # (role, privilege, kind, object)

    def may(self, user: str, privilege: str, kind: str, name: str) -> bool:
        roles = self.user_roles.get(user.upper(), set())
        return any((role, privilege, kind, name.upper()) in self.privileges for role in roles)


def read_account(state_dir: Path) -> LocalAccount:
    path = Path(state_dir) / OBJECTS_FILE
    records = json.loads(path.read_text()) if path.exists() else []
    account = LocalAccount()
    for record in records:
        inputs = record["inputs"]
        if record["type"] == PIPE and is_streaming_copy(inputs.get("copyStatement", "")):
            pipe = StreamingPipe(inputs["database"], inputs["schema"], inputs["name"], inputs["copyStatement"])
            account.pipes[pipe.qualified.upper()] = pipe
        elif record["type"] == SERVICE_USER and inputs.get("rsaPublicKey"):
            account.public_keys[inputs["name"].upper()] = inputs["rsaPublicKey"]
        elif record["type"] == GRANT_ROLE and inputs.get("userName"):
            account.user_roles.setdefault(inputs["userName"].upper(), set()).add(inputs["roleName"].upper())
        elif record["type"] == GRANT_PRIVILEGES and (target := inputs.get("onSchemaObject")):
            for privilege in inputs.get("privileges") or []:
                account.privileges.add(
                    (inputs["accountRoleName"].upper(), privilege.upper(), target["objectType"].upper(),
                     target["objectName"].upper())
                )  # fmt: skip
    return account
