"""The local deploy runs the policy pack's checks on a dry run and refuses before creating anything."""

from __future__ import annotations

import pytest

import infra.snowflake_access
from local_stack import stack
from local_stack.processes import LocalStackError


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
