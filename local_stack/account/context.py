"""What the local deploy's handlers share: emulator clients, the account catalogue, the current session.

Its own module so that engine/target.py (which looks handlers up) and the
handler modules (which need this context) do not import each other.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from local_stack.services import endpoints
from local_stack.services.state import Pipe

if TYPE_CHECKING:
    from local_stack.account.snowflake_account import Session, SnowflakeAccount
    from local_stack.services.checkpoint import StateResource

Outputs = dict[str, Any]


@dataclass
class LocalContext:
    s3_endpoint_url: str
    region: str
    snowflake_port: int
    state_dir: Path
    stages: dict[str, Outputs] = field(default_factory=dict)
    pipes: list[Pipe] = field(default_factory=list)
    recorded: list[Outputs] = field(default_factory=list)
    account: SnowflakeAccount | None = None
    # The one place the local target adapts a cloud input: a dynamic
    # resource's revealed props, before its provider's create() runs.
    adapt_dynamic: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _current: threading.local = field(default_factory=threading.local)
    _snowflake: Any = None
    _aws_clients: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.account is None:
            from local_stack.account.snowflake_account import SnowflakeAccount

            self.account = SnowflakeAccount()

    def aws(self, service: str) -> Any:
        """One client per service for the deploy: botocore clients are thread-safe, creating one costs ~10 ms."""
        with self._lock:
            if service not in self._aws_clients:
                self._aws_clients[service] = endpoints.aws_client(self, service)
            return self._aws_clients[service]

    def sql(self, statement: str) -> list[tuple]:
        """Runs one statement on the local Snowflake (one connection, one statement at a time)."""
        with self._lock:
            if self._snowflake is None:
                # No database in the session: the deploy is what creates it.
                self._snowflake = endpoints.connect_local_snowflake(self.snowflake_port, user="deploy")
            return self._snowflake.cursor().execute(statement).fetchall()

    @property
    def session(self) -> Session | None:
        """The Snowflake session (provider login) the current resource runs in; None for AWS resources."""
        return getattr(self._current, "session", None)

    def in_session(self, session: Session | None) -> None:
        self._current.session = session

    def record(self, type_token: str, name: str, inputs: Outputs) -> None:
        """For objects fakesnow has no notion of (warehouses, roles, grants, users)."""
        with self._lock:
            self.recorded.append({"type": type_token, "name": name, "inputs": inputs})

    def forget(self, type_token: str, name: str) -> None:
        with self._lock:
            self.recorded = [r for r in self.recorded if not (r["type"] == type_token and r["name"] == name)]

    def close(self) -> None:
        if self._snowflake is not None:
            self._snowflake.close()
            self._snowflake = None


# A handler creates one resource type: (context, resource name, inputs) -> (id, outputs).
Handler = Callable[[LocalContext, str, Outputs], tuple[str, Outputs]]
# A deleter removes what its handler created; it gets the resource as the state recorded it.
Deleter = Callable[[LocalContext, "StateResource"], None]
