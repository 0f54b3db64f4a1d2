"""Snowpipe Streaming, locally: the REST API's emulator, the producer's client, and the glue to the local stack.

    protocol.py   the documented API: paths, headers, limits, error shape (both sides import it)
    client.py     the REST client a producer uses, against a real account or the emulator
    producer.py   `python -m local_stack.producer --mode streaming`: one channel, exactly once
    emulator.py   the API's server side: channels, appends, commits into fakesnow with the pipe's SELECT
    channels.py   the channels' committed state, a table in fakesnow written in the rows' transaction
    deploy.py     the local deploy's handler for a streaming pipe, and what the emulator reads back
    status.py     channel status for `make local-status`

client.py and protocol.py import nothing from the local stack: the client
works against a real account. The emulator reuses the file pipe's COPY
parsing and record checks (local_stack/snowpipe/).
"""
