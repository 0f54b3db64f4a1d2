"""The local Snowflake tasks: a runner that runs each deployed task on its schedule, with an emulated stream.

Imports `services/` only.
"""
