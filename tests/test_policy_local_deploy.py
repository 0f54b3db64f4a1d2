"""The local deploy runs the policy pack's checks on a dry run and refuses before creating anything."""

from __future__ import annotations

import pytest

import infra.snowflake_access
from local_stack import stack
from local_stack.engine import policy_gate
from local_stack.errors import LocalStackError
from policy import checks


def test_local_deploy_refuses_a_policy_violation_before_touching_the_emulators(tmp_path, monkeypatch):
    real = infra.snowflake_access._read_events_policy
    monkeypatch.setattr(
        infra.snowflake_access,
        "_read_events_policy",
        lambda arn, prefix: real(arn, prefix).replace('s3:GetObject"', 's3:*"'),
    )
    # Nothing listens on these: reaching the emulators would fail differently.
    with pytest.raises(
        LocalStackError, match=r"iam-no-wildcard-action: aws:iam/rolePolicy:RolePolicy snowflake-access-read-events"
    ):
        stack.deploy(tmp_path, "http://127.0.0.1:9", 9, {})
    assert list(tmp_path.iterdir()) == [], "nothing may be created or recorded"


def test_the_local_stack_passes_every_mandatory_policy():
    advisories = stack.check_policies({}, ())
    assert {v.policy for v in advisories} <= {"stateful-resources-protected", "service-user-rsa-key"}


def test_advisories_are_one_console_line_that_points_to_every_one_in_full(tmp_path):
    unprotected = [
        checks.Violation("stateful-resources-protected", f"snowflake:index/table:Table {name}", "is not protected",
                         checks.ADVISORY)
        for name in ("tables-products", "tables-customers")
    ]  # fmt: skip
    size = checks.Violation("warehouse-size-limit", "snowflake:index/warehouse:Warehouse wh", "MEDIUM", checks.ADVISORY)
    details = tmp_path / "policy-advisories.txt"
    line = policy_gate.report_advisories([*unprotected, size], details)
    assert line == (
        "policy: 3 advisory warnings, none blocking (stateful-resources-protected x2, warehouse-size-limit x1); "
        f"details in {details}"
    )
    assert details.read_text().splitlines() == [
        "[advisory] stateful-resources-protected: snowflake:index/table:Table tables-products: is not protected",
        "[advisory] stateful-resources-protected: snowflake:index/table:Table tables-customers: is not protected",
        "[advisory] warehouse-size-limit: snowflake:index/warehouse:Warehouse wh: MEDIUM",
    ]
