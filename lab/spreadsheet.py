"""CSV that a spreadsheet opens as text: no cell that comes from a name starts a formula.

Run names, tags, class folders and file names come from people and files. A cell starting with `=`, `+`, `-`,
`@`, a tab or a carriage return is run as a formula by Excel, LibreOffice and Google Sheets ("=HYPERLINK(...)"
that sends a click elsewhere); OWASP's rule for CSV injection is to lead such a cell with an apostrophe, which
the spreadsheet shows as text. Every CSV download goes through here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas is the caller's: importing it here would cost every `lab` command a third of a second
    import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet reads as the start of a formula


def csv_cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula ("=HYPERLINK(...)", "-1+1") with a leading apostrophe."""
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def frame_csv(frame: pd.DataFrame) -> str:
    """`frame` as CSV without its index, every text cell (and column name) through `csv_cell`."""
    return frame.rename(columns=csv_cell).apply(lambda column: column.map(csv_cell)).to_csv(index=False)
