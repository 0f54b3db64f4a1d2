"""sql/ as the program reads it: parsed once per text, and never changed by a reader."""

from __future__ import annotations

import shutil

from sqlglot import exp

from infra import sql_source

POC = sql_source.SchemaPath("ECOMMERCE_POC", "ANALYTICS")
OTHER = sql_source.SchemaPath("OTHER_DB", "OTHER_SCHEMA")


def test_each_reader_qualifies_its_own_copy_of_the_shared_parse():
    name, poc = sql_source.view_statement(POC)
    _, other = sql_source.view_statement(OTHER)
    poc, other = poc.upper(), other.upper()
    assert name == "ENRICHED_EVENTS"
    assert "ECOMMERCE_POC.ANALYTICS.ECOMMERCE_EVENTS" in poc and "OTHER_DB" not in poc
    assert "OTHER_DB.OTHER_SCHEMA.ECOMMERCE_EVENTS" in other and "ECOMMERCE_POC" not in other
    shared = sql_source.parse_one(sql_source._read("enriched_events.sql"))
    assert all(not t.args.get("db") for t in shared.find_all(exp.Table)), "a reader qualified the shared tree"


def test_an_edited_file_is_read_again(tmp_path, monkeypatch):
    shutil.copytree(sql_source.SQL_DIR, tmp_path, dirs_exist_ok=True)
    monkeypatch.setattr(sql_source, "SQL_DIR", tmp_path)
    before = sql_source.view_statement(POC)[1]
    view = tmp_path / "enriched_events.sql"
    view.write_text(
        view.read_text().replace("CREATE OR REPLACE VIEW enriched_events", "CREATE OR REPLACE VIEW renamed")
    )
    name, after = sql_source.view_statement(POC)
    assert name == "RENAMED" and after == before
    assert sql_source.view_source_tables() >= {"ECOMMERCE_EVENTS", "PRODUCTS", "CUSTOMERS"}
