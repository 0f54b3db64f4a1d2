"""The diff of the program's own dynamic providers: what makes `pulumi up` touch them again.

(The Superset import's diff is tested in tests/test_superset_hook.py:
test_diff_reports_only_real_changes.)
"""

from __future__ import annotations

from infra.external_id import _ExternalIdProvider
from infra.iam_propagation import _IamPropagationProvider
from local_stack.account.dynamic_resources import reveal
from tests.test_program_graph import INTEGRATION, dev_stack

ROLE = "arn:aws:iam::123456789012:role/poc-snowflake-s3"


def test_the_external_id_changes_only_with_its_prefix():
    provider = _ExternalIdProvider()
    old = {"prefix": "ecommerce_dev_events_s3", "value": "ecommerce_dev_events_s3-1"}
    assert not provider.diff("id", old, {"prefix": "ecommerce_dev_events_s3", "value": None}).changes
    renamed = provider.diff("id", old, {"prefix": "other_events_s3", "value": None})
    assert renamed.changes and renamed.replaces == ["prefix"]


def test_the_external_id_is_kept_when_the_integration_is_replaced():
    """The id does not depend on the integration: replacing the integration cannot roll it (and break the trust)."""
    run = dev_stack()
    external_id = run.named("snowflake-access-external-id")
    integration = run.one(INTEGRATION)
    assert integration.urn not in external_id.dependencies
    assert reveal(external_id.inputs).keys() <= {"prefix", "value", "__provider"}
    assert reveal(integration.inputs)["storageAwsExternalId"] == reveal(external_id.outputs)["value"], (
        "the integration must be given our external id, so a new integration gets the same one"
    )


def test_the_iam_wait_repeats_only_when_the_role_or_its_policy_change():
    provider = _IamPropagationProvider()
    old = {"role_arn": ROLE, "policy": '{"Statement": []}', "seconds": 15}
    assert not provider.diff("id", old, {**old}).changes
    assert not provider.diff("id", old, {**old, "seconds": 30}).changes, "a new wait length alone is no reason to wait"
    assert provider.diff("id", old, {**old, "policy": '{"Statement": [1]}'}).changes
    assert provider.diff("id", old, {**old, "role_arn": ROLE + "-2"}).changes
