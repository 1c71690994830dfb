"""Getting data in: file readers, row parsing, public data sets and the demo shop."""

from shelfwise.io.parsing import RowError, parse_event, parse_product
from shelfwise.io.readers import RawRow, RowStream, UnreadableFileError, read_rows

__all__ = [
    "RawRow",
    "RowError",
    "RowStream",
    "UnreadableFileError",
    "parse_event",
    "parse_product",
    "read_rows",
]
