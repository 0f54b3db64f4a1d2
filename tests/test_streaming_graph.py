"""The streaming path in the graph (issue 19): opt-in by `ingestion`, a streaming pipe, a least-privilege key-pair user.

Evaluated by the SDK's mock runtime against tests/fake_cloud.py. The expected
privileges are the list of docs.snowflake.com, user-guide/snowpipe-streaming/
snowpipe-streaming-access-control, written out here rather than imported.
"""

from __future__ import annotations

from functools import cache

import pytest

from infra import sql_source
from infra.config import ConfigError
from local_stack.account.dynamic_resources import reveal
from local_stack.engine.program_runner import ProgramRun, run_program
from local_stack.stack import throwaway_key_pair
from tests.fake_cloud import FakeCloud

NS = "ecommerce-analytics"
PIPE = "snowflake:index/pipe:Pipe"
STAGE = "snowflake:index/stageExternalS3:StageExternalS3"
NOTIFICATION = "aws:s3/bucketNotification:BucketNotification"
GRANT = "snowflake:index/grantPrivilegesToAccountRole:GrantPrivilegesToAccountRole"
GRANT_ROLE = "snowflake:index/grantAccountRole:GrantAccountRole"
SERVICE_USER = "snowflake:index/serviceUser:ServiceUser"
PUBLIC_KEY, _PRIVATE_KEY = throwaway_key_pair()


@cache
def stack(ingestion: str) -> ProgramRun:
    overrides = {f"{NS}:iamPropagationSeconds": "0", f"{NS}:ingestion": ingestion}
    if ingestion != "files":
        overrides[f"{NS}:streamingUserPublicKey"] = PUBLIC_KEY
    return run_program(FakeCloud(), "dev", overrides=overrides)


def pipes(run: ProgramRun) -> dict[str, dict]:
    return {r.inputs["name"]: reveal(r.inputs) for r in run.of_type(PIPE)}


def test_default_is_files_only():
    # Opt-in: a stack upgraded without touching its config gains nothing.
    run = run_program(FakeCloud(), "dev", overrides={f"{NS}:iamPropagationSeconds": "0"})
    assert list(pipes(run)) == ["ECOMMERCE_EVENTS_PIPE"], f"default ingestion deploys pipes {list(pipes(run))}"
    assert "streaming_pipe" not in run.exports


def test_both_declares_the_streaming_pipe_beside_the_file_pipe():
    run = stack("both")
    declared = pipes(run)
    assert set(declared) == {"ECOMMERCE_EVENTS_PIPE", "ECOMMERCE_EVENTS_STREAMING_PIPE"}
    streaming = declared["ECOMMERCE_EVENTS_STREAMING_PIPE"]
    assert streaming["copyStatement"].startswith("COPY INTO ECOMMERCE_DEV.ANALYTICS.ECOMMERCE_EVENTS\n")
    assert "FROM TABLE(DATA_SOURCE(TYPE => 'STREAMING'))" in streaming["copyStatement"]
    assert not streaming.get("autoIngest"), "a streaming pipe is fed by channels, not S3 notifications"
    assert run.exports["streaming_pipe_name"] == "ECOMMERCE_EVENTS_STREAMING_PIPE"
    assert run.exports["streaming_user"] == "ECOMMERCE_DEV_STREAMING"


def test_streaming_pipe_maps_the_same_fields_with_the_same_casts_as_the_file_pipe():
    files = sql_source.pipe_projection(sql_source.FILE_PIPE_SQL)
    streaming = sql_source.pipe_projection(sql_source.STREAMING_PIPE_SQL)
    assert streaming[:8] == files[:8]
    # SOURCE_FILE and LOADED_AT of a channel row
    assert streaming[8:] == ["'snowpipe-streaming'", "CURRENT_TIMESTAMP()"]


def test_streaming_role_has_exactly_the_documented_privileges():
    run = stack("both")
    granted = set()
    for grant in run.of_type(GRANT):
        inputs = reveal(grant.inputs)
        if inputs["accountRoleName"] != "ECOMMERCE_DEV_STREAMING_INGEST":
            continue
        if target := inputs.get("onAccountObject"):
            on = (target["objectType"], target["objectName"])
        elif target := inputs.get("onSchema"):
            on = ("SCHEMA", target["schemaName"])
        else:
            on = (inputs["onSchemaObject"]["objectType"], inputs["onSchemaObject"]["objectName"])
        granted |= {(privilege, *on) for privilege in inputs["privileges"]}
    assert granted == {
        ("USAGE", "DATABASE", "ECOMMERCE_DEV"),
        ("USAGE", "SCHEMA", "ECOMMERCE_DEV.ANALYTICS"),
        ("INSERT", "TABLE", "ECOMMERCE_DEV.ANALYTICS.ECOMMERCE_EVENTS"),
        ("OPERATE", "PIPE", "ECOMMERCE_DEV.ANALYTICS.ECOMMERCE_EVENTS_STREAMING_PIPE"),
    }


def test_streaming_user_is_a_key_pair_service_user_holding_the_role():
    run = stack("both")
    users = {u.inputs["name"]: reveal(u.inputs) for u in run.of_type(SERVICE_USER)}
    user = users["ECOMMERCE_DEV_STREAMING"]
    body = "".join(line for line in PUBLIC_KEY.splitlines() if not line.startswith("-----"))
    assert user["rsaPublicKey"] == body
    assert user["defaultRole"] == "ECOMMERCE_DEV_STREAMING_INGEST"
    assert "password" not in user
    memberships = {(g.inputs["roleName"], g.inputs.get("userName")) for g in run.of_type(GRANT_ROLE)}
    assert ("ECOMMERCE_DEV_STREAMING_INGEST", "ECOMMERCE_DEV_STREAMING") in memberships


def test_streaming_only_leaves_out_stage_file_pipe_and_notification():
    run = stack("streaming")
    assert list(pipes(run)) == ["ECOMMERCE_EVENTS_STREAMING_PIPE"]
    assert not run.of_type(STAGE) and not run.of_type(NOTIFICATION)
    assert "pipe" not in run.exports


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"ingestion": "kafka"}, "ecommerce-analytics:ingestion: 'kafka' is not one of files, streaming, both"),
        ({"ingestion": "both"}, "ecommerce-analytics:streamingUserPublicKey: is required when ingestion is 'both'"),
        ({"ingestion": "streaming", "streamingUserPublicKey": "not-a-key"}, "streamingUserPublicKey: is not an RSA"),
    ],
)
def test_bad_ingestion_config_stops_before_any_resource(overrides, named):
    keys = {f"{NS}:iamPropagationSeconds": "0", **{f"{NS}:{k}": v for k, v in overrides.items()}}
    with pytest.raises(ConfigError) as raised:
        run_program(FakeCloud(), "dev", overrides=keys)
    assert named in str(raised.value)
