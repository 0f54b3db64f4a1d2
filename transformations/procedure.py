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

from snowflake.snowpark import Session
from snowflake.snowpark import functions as fn

from transformations.refresh import Tables, refresh


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
    session.sql("BEGIN").collect()
    try:
        changes = session.table(stream).filter(fn.col("METADATA$ACTION") == fn.lit("INSERT"))
        result = refresh(session, changes, tables)
        session.sql("COMMIT").collect()
    except BaseException:
        session.sql("ROLLBACK").collect()
        raise
    return json.dumps(result.as_dict())
