"""What the Snowpipe Streaming emulator authorises against: the pipes, users' keys and grants the deploy recorded.

The emulator reads them from .local/snowflake_objects.json, so it refuses what
Snowflake would refuse: a key that is not the user's, a role without OPERATE
on the pipe.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from infra.sql_source import is_streaming_copy
from local_stack.services.state import SNOWFLAKE_OBJECTS_FILE, read_document

PIPE = "snowflake:index/pipe:Pipe"
SERVICE_USER = "snowflake:index/serviceUser:ServiceUser"
GRANT_PRIVILEGES = "snowflake:index/grantPrivilegesToAccountRole:GrantPrivilegesToAccountRole"
GRANT_ROLE = "snowflake:index/grantAccountRole:GrantAccountRole"


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
    records = read_document(state_dir, SNOWFLAKE_OBJECTS_FILE, [])
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
