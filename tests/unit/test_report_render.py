"""The terminal reports fit the terminal they print to: no column crushed to "…", no line too long."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from shared.operators import reports

COLUMNS = ("imported", "normalized", "list:callable", "list:email_only", "list:insufficient", "requested:email",
           "requested:sms", "requested:call", "called", "supported", "escalated", "in_outreach")


@pytest.mark.parametrize("width", [60, 80, 132])
def test_a_wide_grid_is_split_so_that_every_column_shows_whole(width):
    report = {"by_province": {f"{code} Thành phố Hồ Chí Minh": {c: 1234567 for c in COLUMNS} for code in ("01", "79")}}
    out = io.StringIO()
    reports.render("Outreach funnel", report, Console(file=out, width=width))
    text = out.getvalue()
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= width
    assert all(column in text for column in COLUMNS) and text.count("1234567") == 2 * len(COLUMNS)


@pytest.mark.parametrize("report", [{"sla_breaches_by_kind": {"complaint": 1}},
                                    {"escalated_by_owner_and_province": {"BDT-33": {"leads": 2}}}])
def test_a_section_title_wider_than_its_table_shows_on_one_line(report):
    out = io.StringIO()
    reports.render("After-sales care", report, Console(file=out, width=80))
    assert any(line.strip() == next(iter(report)) for line in out.getvalue().splitlines())
