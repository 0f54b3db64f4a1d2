"""Apache Superset for the local stack: install, bootstrap, start (stopped with the stack).

Superset's dependency pins clash with the Pulumi program's, so it lives in
its own venv (.local/superset-venv) built from superset-requirements.txt.
Install and bootstrap are idempotent and cached, so `start` after the first
run takes seconds:

- install:   venv + `uv pip install` (uv comes with requirements-dev.txt; pip is minutes slower on a
             cold cache); skipped while the requirements hash matches.
- bootstrap: a template home (.local/superset-home: SQLite metadata after
             `db upgrade`, `init`, admin user); skipped while the same hash
             is recorded.
- start:     a fresh copy of the template into the stack's state dir, then
             gunicorn on 127.0.0.1:PORT as a process of the stack
             (local_stack/services/processes.py: tracked, logged to <state dir>/superset.log,
             stopped by `down`), ready once /health answers.

Credentials (admin password, SECRET_KEY) are generated once and kept in
.local/superset-home/credentials.json. They protect a Superset bound to
127.0.0.1 on a developer machine and nothing else.

    python -m local_stack.cli superset install|bootstrap|credentials
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import venv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from local_stack.services import processes

REPO_ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = REPO_ROOT / "superset-requirements.txt"
LOCAL_DIR = REPO_ROOT / ".local"
VENV_DIR = LOCAL_DIR / "superset-venv"
HOME_DIR = LOCAL_DIR / "superset-home"
CREDENTIALS_FILE = HOME_DIR / "credentials.json"
CONFIG_FILE = HOME_DIR / "superset_config.py"
METADATA_DB = HOME_DIR / "superset.db"
LOG_DIR = HOME_DIR / "logs"  # install and bootstrap logs; a running stack logs to its state dir
INSTALL_MARKER = VENV_DIR / ".installed-requirements.sha256"
BOOTSTRAP_MARKER = HOME_DIR / ".bootstrapped.json"
HOST = "127.0.0.1"
DEFAULT_PORT = 8088
ADMIN_USERNAME = "admin"

# Bumped whenever the generated superset_config.py or the bootstrap steps
# change, so an existing home is bootstrapped again.
BOOTSTRAP_VERSION = 3

console = Console(stderr=True)


class SupersetServerError(processes.LocalStackError):
    """Installing, bootstrapping or starting the local Superset failed."""


@dataclass(frozen=True)
class LocalCredentials:
    """The local-only admin login of the Superset under .local/superset-home."""

    username: str
    password: str
    secret_key: str


def _bin(name: str) -> Path:
    return VENV_DIR / "bin" / name


def requirements_hash() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()


def _run_logged(step: str, args: Sequence[str], log_path: Path, env: dict[str, str] | None = None) -> float:
    """Run one long step with a spinner; its output goes to log_path, not the terminal."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with (
        log_path.open("ab") as log,
        console.status(f"[bold]{step}[/] (log: {log_path})"),
    ):
        log.write(f"\n$ {' '.join(args)}\n".encode())
        log.flush()
        result = subprocess.run(args, stdout=log, stderr=subprocess.STDOUT, env=env, check=False)
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        raise SupersetServerError(f"{step} failed (exit {result.returncode}); see the log: {log_path}")
    console.print(f"[green]✓[/] {step} ({elapsed:.0f} s)")
    return elapsed


def install() -> bool:
    """Build .local/superset-venv from superset-requirements.txt. Returns False when already current."""
    wanted = requirements_hash()
    if INSTALL_MARKER.exists() and INSTALL_MARKER.read_text().strip() == wanted and _bin("superset").exists():
        return False
    if not _bin("python").exists():
        console.print(f"creating venv {VENV_DIR}")
        venv.EnvBuilder(with_pip=True, clear=False).create(VENV_DIR)
    _run_logged(
        "installing Apache Superset (~900 MB; under a minute with a cold cache)",
        # --compile-bytecode: as pip does; otherwise the first start compiles Superset's modules itself.
        [
            sys.executable,
            "-m",
            "uv",
            "pip",
            "install",
            "--compile-bytecode",
            "--python",
            str(_bin("python")),
            "-r",
            str(REQUIREMENTS),
        ],
        LOCAL_DIR / "superset-install.log",
    )
    INSTALL_MARKER.write_text(wanted + "\n")
    return True


def credentials() -> LocalCredentials:
    """The local admin credentials, generated on first use."""
    if not CREDENTIALS_FILE.exists():
        HOME_DIR.mkdir(parents=True, exist_ok=True)
        data = {
            "_note": "Local-only Superset on 127.0.0.1 (.local/ is git-ignored). Never reuse these elsewhere.",
            "username": ADMIN_USERNAME,
            "password": secrets.token_urlsafe(18),
            "secret_key": secrets.token_urlsafe(42),
        }
        # Created with owner-only permissions from the start: no window where
        # another local user could read it.
        fd = os.open(CREDENTIALS_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=2)
    data = json.loads(CREDENTIALS_FILE.read_text())
    return LocalCredentials(data["username"], data["password"], data["secret_key"])


_CONFIG_TEMPLATE = '''\
"""Superset config of the local stack (generated by local_stack.emulators.superset_server)."""

import json
from pathlib import Path

_HOME = Path(__file__).resolve().parent
SECRET_KEY = json.loads((_HOME / "credentials.json").read_text())["secret_key"]
SQLALCHEMY_DATABASE_URI = f"sqlite:///{_HOME / 'superset.db'}"

# Live dashboards: every refresh must reach Snowflake, never a cached result.
DATA_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}

# Tests and the deploy hook log in many times in a row on a loopback-only server.
AUTH_RATE_LIMITED = False
RATELIMIT_ENABLED = False

# Plain HTTP on 127.0.0.1: no HTTPS redirects or HSTS.
TALISMAN_ENABLED = False


def _key_loaded_once(parse):
    """Superset's key handling for Snowflake, with the key loaded once per key instead of twice per query.

    Every chart query builds an engine and opens a connection (NullPool), and each loads the key with its RSA
    checks (~40 ms): SnowflakeEngineSpec.update_params_from_encrypted_extra (superset/db_engine_specs/snowflake.py)
    turns the PEM into DER bytes, then the connector loads the DER (snowflake/connector/auth/keypair.py,
    AuthByKeyPair.prepare). The connector also takes the loaded key, and then loads nothing.
    """
    from cryptography.hazmat.primitives.serialization import load_der_private_key

    parsed = {}

    def update_params_from_encrypted_extra(database, params):
        extra = database.encrypted_extra
        if extra not in parsed:
            probe = {}
            parse(database, probe)
            connect_args = probe.get("connect_args", {})
            if isinstance(connect_args.get("private_key"), bytes):
                connect_args["private_key"] = load_der_private_key(connect_args["private_key"], password=None)
            parsed[extra] = connect_args
        if parsed[extra]:
            params.setdefault("connect_args", {}).update(parsed[extra])

    return update_params_from_encrypted_extra


def FLASK_APP_MUTATOR(app):
    from superset.db_engine_specs.snowflake import SnowflakeEngineSpec

    SnowflakeEngineSpec.update_params_from_encrypted_extra = staticmethod(
        _key_loaded_once(SnowflakeEngineSpec.update_params_from_encrypted_extra)
    )
'''


def _superset_env(home: Path = HOME_DIR) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SUPERSET_CONFIG_PATH=str(home / CONFIG_FILE.name),
        SUPERSET_HOME=str(home),
        FLASK_APP="superset.app:create_app()",
        PYTHONUNBUFFERED="1",
    )
    # Our venv's variables must not leak into Superset's interpreter.
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONPATH", None)
    return env


# Creates or resets the admin inside Superset's app context. The password
# arrives through the environment, not argv, so `ps` does not show it.
_ENSURE_ADMIN = """
import os
from superset.app import create_app
app = create_app()
with app.app_context():
    sm = app.appbuilder.sm
    username, password = os.environ["LOCAL_ADMIN_USERNAME"], os.environ["LOCAL_ADMIN_PASSWORD"]
    user = sm.find_user(username=username)
    if user is None:
        role = sm.find_role(app.config.get("AUTH_ROLE_ADMIN", "Admin"))
        created = sm.add_user(username, "Local", "Admin", f"{username}@localhost", role, password=password)
        if not created:
            raise SystemExit(f"could not create the Superset admin {username}")
    else:
        sm.reset_password(user.id, password)
"""


def bootstrap(force: bool = False) -> bool:
    """Metadata DB, roles and admin user. Returns False when the cached bootstrap is current."""
    creds = credentials()
    wanted = {"requirements_sha256": requirements_hash(), "version": BOOTSTRAP_VERSION}
    if (
        not force
        and METADATA_DB.exists()
        and BOOTSTRAP_MARKER.exists()
        and json.loads(BOOTSTRAP_MARKER.read_text()) == wanted
    ):
        return False
    CONFIG_FILE.write_text(_CONFIG_TEMPLATE)
    env = _superset_env()
    log = LOG_DIR / "bootstrap.log"
    superset = str(_bin("superset"))
    _run_logged("superset db upgrade", [superset, "db", "upgrade"], log, env)
    _run_logged("superset init (roles and permissions)", [superset, "init"], log, env)
    admin_env = {
        **env,
        "LOCAL_ADMIN_USERNAME": creds.username,
        "LOCAL_ADMIN_PASSWORD": creds.password,
    }
    _run_logged(
        "creating the local admin user",
        [str(_bin("python")), "-c", _ENSURE_ADMIN],
        log,
        admin_env,
    )
    BOOTSTRAP_MARKER.write_text(json.dumps(wanted))
    return True


def healthy(port: int) -> bool:
    return processes.http_ok(f"http://{HOST}:{port}/health")


def _stack_home(state_dir: Path) -> Path:
    """A fresh copy of the bootstrapped home: this stack's metadata and imports live in its state dir."""
    # Not "superset-home": the default state dir is .local itself, where the template lives.
    home = state_dir / "superset-stack-home"
    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree(HOME_DIR, home, ignore=shutil.ignore_patterns("logs", "*.pid"))
    return home


def start(
    state_dir: Path, port: int = DEFAULT_PORT, workers: int = 1, timeout: float = 180.0
) -> processes.TrackedProcess:
    """Install/bootstrap if needed, then start gunicorn on 127.0.0.1:port as a process of the stack in state_dir.

    Returns once /health answers; `processes.stop_all(state_dir)` (the stack's `down`) stops it.
    """
    install()
    bootstrap()
    if not processes.port_is_free(port):
        raise SupersetServerError(
            f"port {port} on {HOST} is already in use by another program: stop it or choose another SUPERSET_PORT"
        )
    home = _stack_home(state_dir)
    args = [
        str(_bin("gunicorn")),
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(workers),
        # Threads let one worker serve the dashboard's parallel chart requests.
        "--worker-class",
        "gthread",
        "--threads",
        "8",
        "--timeout",
        "120",
        "--limit-request-line",
        "0",
        "--limit-request-field_size",
        "0",
        "superset.app:create_app()",
    ]
    started = time.monotonic()
    tracked = processes.start(state_dir, "superset", args, port, env=_superset_env(home))
    with console.status(f"[bold]starting Superset on http://{HOST}:{port}[/] (log: {tracked.log})"):
        processes.wait_ready(tracked, lambda: healthy(port), timeout=timeout)
    console.print(f"[green]✓[/] Superset up on http://{HOST}:{port} in {time.monotonic() - started:.1f} s")
    return tracked
