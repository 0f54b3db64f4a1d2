"""A second `pulumi up` of an unchanged stack must find nothing to change: the program's inputs are repeatable.

Timestamps, random values, dict ordering or a re-rendering that differs
between two evaluations would show up in every `pulumi preview` as a change
(and for the pipe, whose copy_statement forces replacement, as a new pipe
with an empty load history). The whole program is evaluated twice with the
same configuration, the dashboards step included, and every resource's
declared inputs are compared. (tests/e2e/test_strict_local_target.py does the same
on the deployed local stack, and reads the objects back.)
"""

from __future__ import annotations

import pulumi

from local_stack.engine.program_runner import run_program
from local_stack.engine.target import canonical
from local_stack.stack import throwaway_key_pair
from tests.fake_cloud import FakeCloud
from tests.fake_superset import FakeSuperset, serving

NS = "ecommerce-analytics"


class StatefulCloud(FakeCloud):
    """Keeps what a resource with unchanged inputs answered, as the engine keeps it in the stack's state
    (the external id is generated once, on the first run only)."""

    def __init__(self) -> None:
        super().__init__()
        self.state: dict[tuple[str, str, str], tuple[str, dict]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        key = (args.typ, args.name, canonical(args.inputs))
        if key not in self.state:
            self.state[key] = super().new_resource(args)
        return self.state[key]


def test_two_evaluations_declare_identical_inputs_for_every_resource():
    public, private = throwaway_key_pair()
    with serving(FakeSuperset(username="admin", password="pw")) as url:
        _compare_two_runs(url, public, private)


def _compare_two_runs(superset_url: str, public: str, private: str) -> None:
    overrides = {
        f"{NS}:supersetUrl": superset_url,
        f"{NS}:supersetPassword": "pw",
        f"{NS}:snowflakeAccount": "MYORG-MYACCOUNT",
        f"{NS}:dashboardUserPublicKey": public,
        f"{NS}:dashboardUserPrivateKey": private,
    }
    secrets = (f"{NS}:supersetPassword", f"{NS}:dashboardUserPrivateKey")
    cloud = StatefulCloud()
    runs = [run_program(cloud, "dev", overrides=overrides, secret_keys=secrets) for _ in range(2)]
    first, second = ({urn: r.inputs for urn, r in run.registrations.items() if r.custom} for run in runs)
    assert set(first) == set(second)
    changed = sorted(urn.rsplit("::", 1)[-1] for urn in first if canonical(first[urn]) != canonical(second[urn]))
    assert changed == [], f"these resources declare different inputs on a second run: {changed}"
    assert any("dashboards-import" in urn for urn in first), "the dashboards import must be part of the comparison"
