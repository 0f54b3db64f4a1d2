"""The emulator servers the stack starts: moto, fakesnow (with the shims Snowflake clients need), Superset.

Imports `services/` and `snowpipe/` (SYSTEM$PIPE_STATUS reads the local Snowpipe).
"""
