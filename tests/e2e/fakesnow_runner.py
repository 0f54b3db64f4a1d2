"""Test-only fakesnow server with the Superset compat shims.

Stand-in for `python -m local_stack.snowflake_server` until that launcher
exists: installs local_stack.fakesnow_compat, then serves until killed.

    python tests/e2e/fakesnow_runner.py PORT
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import fakesnow

from local_stack import fakesnow_compat


def main(port: int) -> None:
    fakesnow_compat.install()
    with fakesnow.server(port=port):
        print(f"fakesnow serving on 127.0.0.1:{port}", flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main(int(sys.argv[1]))
