"""Every table of the dashboard that lists an API table route has CSV and Excel download buttons."""

from __future__ import annotations

import re
from pathlib import Path

DASHBOARD = Path(__file__).resolve().parents[3] / "services" / "gateway" / "dashboard" / "index.html"
WITHOUT_EXPORT = {"profile-targets"}  # one agency's figures against its targets: the profile is not a listing


def test_each_table_panel_offers_csv_and_excel_of_its_listing() -> None:
    page = DASHBOARD.read_text(encoding="utf-8")
    markup = page[: page.index("<script")]
    tables = re.findall(r'<table id="([a-z-]+)"', markup)
    assert len(tables) == 6
    for table in set(tables) - WITHOUT_EXPORT:
        # the buttons sit in the table's own panel: between the previous table (or the start) and this one
        before = markup[: markup.index(f'<table id="{table}"')]
        panel = before[max(before.rfind("<table"), before.rfind("<section")) :]
        keys = set(re.findall(r'data-export="([a-z-]+)" data-format="(csv|xlsx)"', panel))
        assert {fmt for _, fmt in keys} == {"csv", "xlsx"}, table
        (key,) = {key for key, _ in keys}
        assert f'key === "{key}"' in page or key == "scorecard", key  # exportPath knows where it comes from
