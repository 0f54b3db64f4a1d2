"""The strict account: what a real Snowflake account refuses, and one handler per resource type.

A handler creates (and a deleter deletes) one Pulumi resource type in the emulators after the
checks a real account makes. Imports `services/`, `snowpipe/` (the COPY parser) and `tasks/`.
"""
