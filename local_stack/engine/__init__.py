"""The local Pulumi engine: the program run through the SDK mock runtime, deployed, previewed, destroyed.

Every use of SDK internals is in `pulumi_sdk.py`. Imports `account/` and lower layers.
"""
