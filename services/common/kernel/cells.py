"""Text written into a file a person opens in a spreadsheet (an export's CSV, a district's driver mapping): a
cell starting as a formula is written after a ``'`` so that it stays text, and read back without it."""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet opening a CSV reads a text cell starting with as a formula (OWASP "CSV injection")."""

GUARD = "'"


def formula_safe(text: str) -> str:
    """``text`` as a spreadsheet shows it as text: after a ``'`` when it starts as a formula (an agency's name a
    district registered as ``=HYPERLINK(…)`` must not run in the spreadsheet of whoever opens the file)."""
    return GUARD + text if text.startswith(FORMULA_STARTS) else text


def formula_unsafe(cell: str) -> str:
    """A cell ``formula_safe`` wrote, read back as the text it was (a file the district returns)."""
    if cell.startswith(GUARD) and cell[1:].startswith(FORMULA_STARTS):
        return cell[1:]
    return cell
