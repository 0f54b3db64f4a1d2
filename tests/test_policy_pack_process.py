"""policy/ started the way the Pulumi CLI starts a Python policy pack, asked over gRPC what it enforces.

The CLI runs pulumi's `pulumi-analyzer-policy-python` shim in the pack's
directory, which runs `<virtualenv>/bin/python -u -m pulumi.policy <engine> .`
(sdk/python/dist/pulumi-analyzer-policy-python), with PULUMI_STACK and
PULUMI_CONFIG in the environment (analyzer_plugin.go, constructEnv); the pack
prints the port of its Analyzer service on stdout.

Broken on purpose while writing: without the sys.path line in
policy/__main__.py the pack died on `import policy` and this test failed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import grpc
from google.protobuf import empty_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from local_stack.program_runner import PROJECT_DIR
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
            info = analyzer_pb2_grpc.AnalyzerStub(channel).GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
    finally:
        pack.kill()
        pack.wait()
    levels = {p.name: p.enforcementLevel for p in info.policies}
    assert set(levels) == {p.name for p in checks.POLICIES}
    assert levels["stateful-resources-protected"] == analyzer_pb2.EnforcementLevel.MANDATORY, "prod-eu is a prod stack"
    assert levels["warehouse-size-limit"] == analyzer_pb2.EnforcementLevel.ADVISORY
    assert info.name == "ecommerce-analytics-guard"
