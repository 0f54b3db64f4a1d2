"""Smoke test of a deployed stack: is the pipeline really flowing, and if not, why?

`make smoke` (local stack) or `make smoke STACK=<name>` (a real stack after
`pulumi up`) runs, in order: the pipe's status (SYSTEM$PIPE_STATUS), one
canary event put under the events prefix, its arrival in ENRICHED_EVENTS with
product and customer joined (put -> visible latency), and, when Superset is
configured, the dashboard's event-count chart seeing it. On a failure it
names the likely cause and the fix (smoke/diagnosis.py).

The real-stack path needs only what `pulumi up` needed (the Pulumi CLI, AWS
credentials, the SNOWFLAKE_* variables) and never imports the emulators.
"""
