"""Each runtime imports only what its own requirements file installs; the bench imports no test code.

`pulumi up` and `pulumi preview` run __main__.py (and what it imports) in a venv
built from requirements.txt; the policy pack runs in one built from
policy/requirements.txt. The imports are read with ast, first-party modules are
followed, and each third-party module is mapped to its distribution with
importlib.metadata.packages_distributions.
"""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIRST_PARTY = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
LOCAL_ONLY = {"local_stack", "tests", "smoke", "bench"}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_names(path: Path) -> set[str]:
    """Distribution names a requirements file pins, following `-r` includes."""
    names: set[str] = set()
    for raw in path.read_text().splitlines():
        line = raw.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-r"):
            names |= requirement_names(path.parent / line[2:].strip())
            continue
        names.add(_canonical(re.split(r"[\[=<>!~; ]", line, maxsplit=1)[0]))
    return names


def _module_files(dotted: str) -> list[Path]:
    """The first-party files that importing `dotted` runs (packages' __init__ included)."""
    files, base = [], ROOT
    for part in dotted.split("."):
        if (base / part / "__init__.py").exists():
            base = base / part
            files.append(base / "__init__.py")
        elif (base / f"{part}.py").exists():
            files.append(base / f"{part}.py")
            break
        else:
            break
    return files


def imports_of(entry: Path) -> tuple[set[str], set[str]]:
    """(first-party modules, third-party top-level modules) reached from `entry`."""
    first, third, seen, todo = set(), set(), set(), [entry]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in FIRST_PARTY:
                    first.add(name)
                    todo.extend(_module_files(name))
                elif top not in sys.stdlib_module_names and top != "__future__":
                    third.add(top)
    return first, third


def undeclared(modules: set[str], requirements: set[str]) -> dict[str, list[str]]:
    distributions = packages_distributions()
    missing = {}
    for module in sorted(modules):
        dists = {_canonical(d) for d in distributions.get(module, [module])}
        if not dists & requirements:
            missing[module] = sorted(dists)
    return missing


RUNTIMES = {
    "program": ([ROOT / "__main__.py"], ROOT / "requirements.txt"),
    "policy pack": ([ROOT / "policy" / "__main__.py"], ROOT / "policy" / "requirements.txt"),
}


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_runtime_imports_only_its_requirements(runtime):
    entries, requirements_file = RUNTIMES[runtime]
    first, third = set(), set()
    for entry in entries:
        f, t = imports_of(entry)
        first, third = first | f, third | t
    missing = undeclared(third, requirement_names(requirements_file))
    assert not missing, (
        f"the {runtime} imports {missing} (module: distributions), which "
        f"{requirements_file.relative_to(ROOT)} does not install"
    )
    local = sorted(m for m in first if m.split(".")[0] in LOCAL_ONLY)
    assert not local, f"the {runtime} imports local or test code: {local}"


def test_program_requirements_leave_out_emulators_and_test_tools():
    program = requirement_names(ROOT / "requirements.txt")
    for dev_only in ("moto", "fakesnow", "duckdb", "snowflake-snowpark-python", "pytest", "ruff", "pulumi-policy"):
        assert dev_only not in program, f"{dev_only} is in requirements.txt; it belongs in requirements-dev.txt"


def test_the_check_sees_an_undeclared_import(tmp_path):
    program = tmp_path / "program.py"
    program.write_text("import pulumi\nfrom infra.config import load_config\n\ndef f():\n    import moto\n")
    _, third = imports_of(program)
    assert undeclared(third, requirement_names(ROOT / "requirements.txt")) == {"moto": ["moto"]}


@pytest.mark.parametrize("script", sorted(p.name for p in (ROOT / "bench").glob("*.py")))
def test_the_bench_imports_no_test_code(script):
    first, _ = imports_of(ROOT / "bench" / script)
    tests = sorted(m for m in first if m.split(".")[0] == "tests")
    assert not tests, f"bench/{script} imports test code: {tests}"
