"""The stored procedure's handler: the stream's new rows -> refresh, committed with the stream's offset.

A stream's offset advances only when a DML statement that reads it commits
("Introduction to Streams", docs.snowflake.com/en/user-guide/streams-intro:
"the stream position advances ... when the transaction commits"). Both MERGE
statements read the stream, inside one explicit transaction: either both
results and the new offset commit, or neither does and the next run sees the
same rows again, which refresh() absorbs because it recomputes whole keys.
Within a transaction every statement sees the same stream contents
(repeatable read).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from snowflake.snowpark import DataFrame, Session
from snowflake.snowpark import functions as fn

from transformations.refresh import RefreshResult, Tables, refresh


def run(
    session: Session,
    stream: str,
    events: str,
    products: str,
    session_funnel: str,
    product_conversion: str,
) -> str:
    """Handler of CONVERSION_REFRESH(stream, events, products, session_funnel, product_conversion)."""
    tables = Tables(events, products, session_funnel, product_conversion)
    changes = session.table(stream).filter(fn.col("METADATA$ACTION") == fn.lit("INSERT"))
    return json.dumps(refresh_in_transaction(session, changes, tables).as_dict())


def refresh_in_transaction(
    session: Session,
    changes: DataFrame,
    tables: Tables,
    before_commit: Callable[[], None] = lambda: None,
) -> RefreshResult:
    """refresh() inside BEGIN ... COMMIT; `before_commit` runs last inside the transaction.

    Whatever `before_commit` writes (the local runner's stream offset)
    commits with the results or not at all.
    """
    session.sql("BEGIN").collect()
    try:
        result = refresh(session, changes, tables)
        before_commit()
        session.sql("COMMIT").collect()
    except BaseException:
        session.sql("ROLLBACK").collect()
        raise
    return result
