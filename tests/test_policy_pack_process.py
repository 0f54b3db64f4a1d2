"""policy/ started the way the Pulumi CLI starts a Python policy pack, asked over gRPC what it enforces.

The CLI runs pulumi's `pulumi-analyzer-policy-python` shim in the pack's
directory, which runs `<virtualenv>/bin/python -u -m pulumi.policy <engine> .`
(sdk/python/dist/pulumi-analyzer-policy-python), with PULUMI_STACK and
PULUMI_CONFIG in the environment (analyzer_plugin.go, constructEnv); the pack
prints the port of its Analyzer service on stdout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import grpc
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from local_stack.engine.program_runner import PROJECT_DIR
from policy import checks


def test_pack_serves_every_policy_at_its_level_for_the_stack():
    env = {**os.environ, "PULUMI_STACK": "prod-eu", "PULUMI_CONFIG": json.dumps({"ecommerce-analytics:x": "y"})}
    pack = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:0", "."],
        cwd=PROJECT_DIR / "policy",
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        port = pack.stdout.readline().strip()
        assert port.isdigit(), f"the pack printed {port!r} instead of its port; stderr: {pack.stderr.read()}"
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            analyzer = analyzer_pb2_grpc.AnalyzerStub(channel)
            info = analyzer.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
            # A warehouse that never suspends, as the engine hands it over before creating it.
            properties = struct_pb2.Struct()
            properties.update({"name": "BIG_WH", "warehouseSize": "XLARGE", "autoSuspend": 0, "autoResume": "true"})
            analyzed = analyzer.Analyze(
                analyzer_pb2.AnalyzeRequest(
                    type=checks.WAREHOUSE,
                    properties=properties,
                    urn="urn:pulumi:prod-eu::ecommerce-analytics::snowflake:index/warehouse:Warehouse::big",
                    name="big",
                    options=analyzer_pb2.AnalyzerResourceOptions(protect=False),
                ),
                timeout=30,
            )
    finally:
        pack.kill()
        pack.wait()
    levels = {p.name: p.enforcementLevel for p in info.policies}
    assert set(levels) == {p.name for p in checks.POLICIES}
    assert levels["stateful-resources-protected"] == analyzer_pb2.EnforcementLevel.MANDATORY, "prod-eu is a prod stack"
    assert levels["warehouse-size-limit"] == analyzer_pb2.EnforcementLevel.ADVISORY
    assert info.name == "ecommerce-analytics-guard"
    found = {d.policyName: d for d in analyzed.diagnostics}
    assert set(found) == {"warehouse-auto-suspends", "warehouse-size-limit"}, [d.message for d in found.values()]
    assert "autoSuspend is 0" in found["warehouse-auto-suspends"].message
    assert found["warehouse-auto-suspends"].enforcementLevel == analyzer_pb2.EnforcementLevel.MANDATORY
