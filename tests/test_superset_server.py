"""The local Superset's per-stack home (emulators/superset_server.py): a fresh copy of the template."""

from __future__ import annotations

from pathlib import Path

import pytest

from local_stack.emulators import superset_server


@pytest.fixture
def template(tmp_path, monkeypatch) -> Path:
    home = tmp_path / ".local" / "superset-home"
    (home / "logs").mkdir(parents=True)
    (home / "credentials.json").write_text('{"username": "admin"}')
    (home / "superset_config.py").write_text("# config\n")
    (home / "superset.db").write_bytes(b"bootstrapped metadata")
    (home / "logs" / "bootstrap.log").write_text("long log")
    monkeypatch.setattr(superset_server, "HOME_DIR", home)
    return home


def test_each_start_gets_a_fresh_copy_of_the_template(template, tmp_path):
    state = tmp_path / "stack-state"
    home = superset_server._stack_home(state)
    assert home.parent == state, "the stack's Superset metadata must live in its state dir"
    assert {p.name for p in home.iterdir()} == {"credentials.json", "superset_config.py", "superset.db"}
    (home / "superset.db").write_bytes(b"dashboards imported by this stack")
    again = superset_server._stack_home(state)
    assert (again / "superset.db").read_bytes() == b"bootstrapped metadata", "a new stack starts from the template"
    assert (template / "superset.db").read_bytes() == b"bootstrapped metadata", "the template is never written"


def test_the_default_state_dir_does_not_overwrite_the_template(template):
    """The default state dir is .local, the template's own parent."""
    home = superset_server._stack_home(template.parent)
    assert home != template
    assert (template / "superset.db").read_bytes() == b"bootstrapped metadata"
    assert (home / "credentials.json").read_text() == '{"username": "admin"}'
