"""Waits for IAM to propagate a new role before Snowflake is asked to use it.

IAM is eventually consistent: for some seconds after CreateRole/PutRolePolicy,
an AssumeRole from Snowflake's IAM user can still be refused, and Snowflake
then fails to create the stage ("Error assuming AWS_ROLE") on a first
`pulumi up`. Nothing in the graph can observe propagation from our side (only
Snowflake's user may assume the role), so the graph holds a fixed wait between
the role policy and the stage. A Python dynamic resource does it without the
extra provider plugin that pulumi-time would download, and it waits again only
when the role or its policy change.

The provider is stored in state by module path: keep this module where it is.
"""

from __future__ import annotations

import time

import pulumi
from pulumi.dynamic import (
    CreateResult,
    DiffResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)


class _IamPropagationProvider(ResourceProvider):
    def create(self, props):
        time.sleep(int(props["seconds"]))
        return CreateResult(id_=props["role_arn"], outs=props)

    def diff(self, _id, old, new):
        watched = ("role_arn", "policy")
        return DiffResult(changes=any(old.get(k) != new.get(k) for k in watched))

    def update(self, _id, _old, new):
        time.sleep(int(new["seconds"]))
        return UpdateResult(outs=new)


class IamPropagationWait(Resource):
    """Completes `seconds` after the role and its policy were (re)written."""

    role_arn: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        role_arn: pulumi.Input[str],
        policy: pulumi.Input[str],
        seconds: int,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__(
            _IamPropagationProvider(),
            name,
            {"role_arn": role_arn, "policy": policy, "seconds": seconds},
            opts,
        )
