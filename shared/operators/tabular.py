"""Reading operator files (CSV, Excel .xlsx or legacy .xls) row by row, columns mapped by header.

Rows stream: a file of a million rows is never held in memory. A row that cannot be read becomes
a `Reject` with its 1-based data row number, the field and the reason, for the reject file.

CSV comes as Excel and other tools save it: UTF-8 with or without a BOM, UTF-16 with a BOM
("Unicode text"), Windows-1258 (Vietnamese Windows, tone marks as combining characters), with
`,`, `;` or tab between cells. Every cell is NFC-normalized, so text compares equal however it
was encoded. Excel cells keep what the operator saw: 100233488, not 100233488.0.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from shared.domain.text import fold


class FileFormatError(ValueError):
    """The file as a whole cannot be read: unknown format, or a required column is missing."""


@dataclass(frozen=True)
class Reject:
    row: int
    field: str
    reason: str
    raw: str


def _header_key(text: str) -> str:
    """How headers are compared: folded, without separators ("Mã số thuế" = "ma_so_thue" = "MASOTHUE")."""
    return fold(text).replace(" ", "")


def column_map(header: list[str], aliases: Mapping[str, tuple[str, ...]], required: tuple[str, ...],
               overrides: Mapping[str, str] | None = None) -> dict[str, int]:
    """Field → column index. `overrides` maps a header as written in the file to a field."""
    folded = {_header_key(h or ""): i for i, h in enumerate(header)}
    mapping: dict[str, int] = {}
    for written, field_name in (overrides or {}).items():
        if _header_key(written) not in folded:
            raise FileFormatError(f"--map names column {written!r}, which the file does not have")
        mapping[field_name] = folded[_header_key(written)]
    for field_name, names in aliases.items():
        if field_name not in mapping:
            index = next((folded[_header_key(n)] for n in (field_name, *names) if _header_key(n) in folded), None)
            if index is not None:
                mapping[field_name] = index
    missing = [f for f in required if f not in mapping]
    if missing:
        raise FileFormatError(f"missing column(s) {', '.join(missing)}; the header has: {', '.join(map(str, header))}")
    return mapping


def read_rows(path: Path, aliases: Mapping[str, tuple[str, ...]], required: tuple[str, ...] = (),
              overrides: Mapping[str, str] | None = None, progress: bool = False) -> Iterator[tuple[int, dict[str, str | None]]]:
    """Yields (1-based data row number, {field: text or None}) for each data row."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        yield from _csv_rows(path, aliases, required, overrides, progress)
    elif suffix in (".xlsx", ".xlsm"):
        yield from _xlsx_rows(path, aliases, required, overrides, progress)
    elif suffix == ".xls":
        yield from _xls_rows(path, aliases, required, overrides, progress)
    else:
        raise FileFormatError(f"{path.name}: expected a .csv, .xlsx or .xls file")


def _cell_text(value) -> str:
    """A cell as the operator saw it: an integral number without ".0", a date as YYYY-MM-DD, NFC text."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return unicodedata.normalize("NFC", str(value)).strip()


def _cells(row: list, mapping: dict[str, int]) -> dict[str, str | None]:
    values = {}
    for field_name, index in mapping.items():
        text = _cell_text(row[index] if index < len(row) else None)
        values[field_name] = text or None
    return values


def _text_cells(row: list[str], mapping: dict[str, int]) -> dict[str, str | None]:
    """`_cells` of a CSV row, whose cells are all text: a fifth of an import's CPU went to `_cell_text`'s type checks."""
    width = len(row)
    return {field_name: (unicodedata.normalize("NFC", row[index]).strip() or None) if index < width else None
            for field_name, index in mapping.items()}


_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
# Without a BOM and not UTF-8, an operator's file is Vietnamese Windows (or Western Windows when it
# has no Vietnamese letter), or UTF-16 that lost its BOM; charset-normalizer tells them apart.
_LEGACY = ["cp1258", "cp1252", "utf_16_le", "utf_16_be"]
SAMPLE_BYTES = 256 * 1024


def detect_encoding(sample: bytes) -> str:
    """The encoding of a CSV file from its first bytes."""
    for bom, encoding in _BOMS:
        if sample.startswith(bom):
            return encoding
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)  # a character cut at the end is fine
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(sample, cp_isolation=_LEGACY).best()
    return best.encoding if best is not None else "cp1258"


def detect_delimiter(header_line: str) -> str:
    """`,`, `;` or tab: whichever the header line uses most (a header rarely contains one)."""
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _progress(total: float, label: str) -> Progress:
    return Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), transient=False)


def _csv_rows(path, aliases, required, overrides, progress):
    size = path.stat().st_size
    with open(path, "rb") as raw:
        encoding = detect_encoding(raw.read(SAMPLE_BYTES))
        raw.seek(0)
        text = io.TextIOWrapper(raw, encoding=encoding, newline="")
        first_line = text.readline()
        text.seek(0)
        reader = csv.reader(text, delimiter=detect_delimiter(first_line))
        header = next(reader, None)
        if header is None:
            raise FileFormatError(f"{path.name} is empty")
        mapping = column_map([_cell_text(h) for h in header], aliases, required, overrides)
        with _maybe_progress(progress, size, f"reading {path.name}") as advance:
            for number, row in enumerate(reader, start=1):
                if not "".join(row).strip():
                    continue
                if number % 2000 == 0:
                    advance(raw.tell())
                yield number, _text_cells(row, mapping)
            advance(size)


def _xlsx_rows(path, aliases, required, overrides, progress):
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise FileFormatError(f"{path.name}: the first sheet is empty")
        mapping = column_map([_cell_text(h) for h in header], aliases, required, overrides)
        total = max((sheet.max_row or 1) - 1, 1)
        with _maybe_progress(progress, total, f"reading {path.name}") as advance:
            for number, row in enumerate(rows, start=1):
                if row is None or all(v is None or str(v).strip() == "" for v in row):
                    continue
                if number % 2000 == 0:
                    advance(number)
                yield number, _cells(list(row), mapping)
            advance(total)
    finally:
        workbook.close()


def _xls_rows(path, aliases, required, overrides, progress):
    import xlrd

    try:
        book = xlrd.open_workbook(str(path), on_demand=True)
    except xlrd.XLRDError as exc:
        raise FileFormatError(f"{path.name}: not a readable .xls file ({exc})") from None
    try:
        sheet = book.sheet_by_index(0)
        if sheet.nrows == 0:
            raise FileFormatError(f"{path.name}: the first sheet is empty")

        def values(index: int) -> list:
            return [xlrd.xldate_as_datetime(cell.value, book.datemode) if cell.ctype == xlrd.XL_CELL_DATE
                    else cell.value for cell in sheet.row(index)]
        mapping = column_map([_cell_text(h) for h in values(0)], aliases, required, overrides)
        total = max(sheet.nrows - 1, 1)
        with _maybe_progress(progress, total, f"reading {path.name}") as advance:
            for number in range(1, sheet.nrows):
                row = values(number)
                if all(_cell_text(v) == "" for v in row):
                    continue
                if number % 2000 == 0:
                    advance(number)
                yield number, _cells(row, mapping)
            advance(total)
    finally:
        book.release_resources()


class _maybe_progress:
    """A rich progress bar on the terminal (completed = bytes or rows read), or nothing."""

    def __init__(self, enabled: bool, total: float, label: str):
        self.bar = _progress(total, label) if enabled else None
        self.total = total
        self.label = label

    def __enter__(self):
        if self.bar is None:
            return lambda _done: None
        self.bar.start()
        task = self.bar.add_task(self.label, total=self.total)
        return lambda done: self.bar.update(task, completed=done)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()


class RejectFile:
    """A CSV beside the imported file: row, field, reason, raw value. Created on the first reject."""

    def __init__(self, path: Path):
        self.path = path
        self.count = 0
        self._handle = None
        self._writer = None

    def add(self, reject: Reject) -> None:
        if self._writer is None:
            self._handle = open(self.path, "w", newline="", encoding="utf-8")
            self._writer = csv.writer(self._handle)
            self._writer.writerow(["row", "field", "reason", "raw"])
        self._writer.writerow([reject.row, reject.field, reject.reason, reject.raw])
        self.count += 1

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
