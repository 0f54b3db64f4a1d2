"""The embedded local stack: the unchanged Pulumi program, deployed on emulators by a local engine.

Layers, lowest first; a module imports only from its own layer or lower ones
(tests/test_local_stack_layers.py checks it):

1. `errors`: the one error base class.
2. `services/`: plumbing every process shares: process control, the state
   files (and the deploy's checkpoint), endpoints and connections.
3. `snowpipe/`, `tasks/`: what Snowflake runs beside the data that fakesnow
   cannot: the local Snowpipe and the task runner; then `streaming/`, the
   Snowpipe Streaming API, which reuses the Snowpipe's COPY machinery.
4. `emulators/`: the servers: moto, fakesnow with its shims, the credit meter and
   local resource monitor, Superset.
5. `account/`: the strict account (a real account's rules) and the handler of
   each resource type the program declares.
6. `engine/`: the local Pulumi engine: the mock-runtime adapter, program
   runner, deploy target, preview and refresh, destroy, drift, policy gate.
7. `shopping` (the events); `stack` (up, deploy, preview, destroy, down) and
   `streaming_producer`; `producer` (both modes' command line); then `cli` and
   `harness` on top: what users, tests and bench call.

The cut follows the architecture drawing: data plane below (services,
Snowflake's own services, emulators), control plane above (account rules,
engine), entry points on top. Nothing in infra/ or __main__.py imports this package.
"""
