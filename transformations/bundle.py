"""The stored procedure's code, built from this package's own files when the Pulumi program runs.

Snowflake runs an in-line Python procedure from one source text
(CREATE PROCEDURE ... AS $$ ... $$, which the provider's
`procedure_definition` wraps). That text here is a small loader that
installs this package's modules, verbatim, under their own names, so the
procedure executes exactly the code the local runner and the tests import.
Nothing in this module imports Snowpark: the cloud program only reads files.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = "transformations"
PACKAGE_DIR = Path(__file__).resolve().parent
# Dependency order: each module only imports the ones before it.
MODULES = ("conversion", "refresh", "procedure")
HANDLER = "run"
HANDLER_MODULE = "procedure"

_LOADER = '''"""CONVERSION_REFRESH: generated from {package}/ by {package}/bundle.py; edit the package, not this."""
import sys
import types

_SOURCES = {sources}


def _install():
    package = types.ModuleType("{package}")
    package.__path__ = []
    sys.modules["{package}"] = package
    for name, source in _SOURCES.items():
        module = types.ModuleType(name)
        module.__file__ = name.replace(".", "/") + ".py"
        sys.modules[name] = module
        exec(compile(source, module.__file__, "exec"), module.__dict__)
        setattr(package, name.rsplit(".", 1)[1], module)


_install()
from {package}.{handler_module} import {handler}  # noqa: E402
'''


class BundleError(ValueError):
    """The package cannot be shipped as an in-line procedure."""


def procedure_definition() -> str:
    """Python source of the procedure: the loader with every module of MODULES embedded."""
    sources = {}
    for module in MODULES:
        path = PACKAGE_DIR / f"{module}.py"
        text = path.read_text(encoding="utf-8")
        if "$$" in text:
            raise BundleError(f"{path} contains '$$', which would end the procedure body; remove it")
        sources[f"{PACKAGE}.{module}"] = text
    definition = _LOADER.format(package=PACKAGE, sources=repr(sources), handler_module=HANDLER_MODULE, handler=HANDLER)
    compile(definition, "procedure_definition", "exec")
    return definition
