"""The CrossGuard policy pack: `pulumi preview --policy-pack policy`."""

import sys
from pathlib import Path

# The CLI runs this file from policy/; the checks are the `policy` package of the repository.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import PolicyPack

from policy.pack import PACK_NAME, from_environment

PolicyPack(name=PACK_NAME, policies=from_environment())
