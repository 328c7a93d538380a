"""Operator files as they really come, generated: encodings, separators, Excel's habits, labels."""

from __future__ import annotations

import csv
import io
import unicodedata
from pathlib import Path

HEADER = ["Mã số thuế", "Tên doanh nghiệp", "Địa chỉ", "Điện thoại", "Email"]
ROWS = [
    ["MST: 0100233488", "Công ty TNHH Minh An", "12 Tràng Tiền, Hoàn Kiếm, Hà Nội", "0166 234 5678", "lienhe@minhan.vn"],
    ["Mã số thuế: 0314.409.058", "Công ty CP Sài Gòn Xanh", "45 Lê Lợi, Quận 1, TP.HCM", "(08) 3825 1234", ""],
    ["'0300000018", "Công ty TNHH Kỹ thuật Đà Nẵng", "Thanh Khê, Đà Nẵng", "0905.111.222", ""],
    ["Mã số DN 0400-000-029", "Công ty TNHH An Phát", "KCN Trà Nóc, Cần Thơ", "", "ketoan[at]anphat.com.vn"],
    ["0100233480", "", "Hà Nội", "0912 000 000", ""],  # a bad check digit and no name: rejected
]
EXPECTED_CODES = ["0100233488", "0314409058", "0300000018", "0400000029"]
# Every encoding an operator's tool saves CSV in, as (name, encode).
ENCODINGS = {
    "utf-8": lambda text: text.encode("utf-8"),
    "utf-8 with BOM": lambda text: text.encode("utf-8-sig"),
    "UTF-16 LE with BOM": lambda text: text.encode("utf-16-le").join([b"\xff\xfe", b""]),
    "UTF-16 BE with BOM": lambda text: text.encode("utf-16-be").join([b"\xfe\xff", b""]),
    "Windows-1258": lambda text: to_windows_1258(text),
}
DELIMITERS = {"comma": ",", "semicolon": ";", "tab": "\t"}


def to_windows_1258(text: str) -> bytes:
    """Vietnamese as Windows-1258 writes it: precomposed where the code page has the letter, tone marks combining."""
    out = bytearray()
    for char in unicodedata.normalize("NFC", text):
        try:
            out += char.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        base, *marks = unicodedata.normalize("NFD", char)
        for keep in marks:
            rest = list(marks)
            rest.remove(keep)
            try:
                out += unicodedata.normalize("NFC", base + keep).encode("cp1258") + "".join(rest).encode("cp1258")
                break
            except UnicodeEncodeError:
                continue
        else:
            out += (base + "".join(marks)).encode("cp1258")
    return bytes(out)


def write_csv(path: Path, encoding: str, delimiter: str, rows=None, header=HEADER) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows([header, *(rows or ROWS)])
    path.write_bytes(ENCODINGS[encoding](buffer.getvalue()))
    return path


def write_xls(path: Path, rows=None, header=HEADER) -> Path:
    """A legacy .xls as Excel 97-2003 saves it; a tax code typed as a number lost its leading zero."""
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("Danh sách")
    for r, row in enumerate([header, *(rows or ROWS)]):
        for c, value in enumerate(row):
            # '0300000018 typed without the apostrophe: Excel keeps a number and drops the zero.
            sheet.write(r, c, float(value[2:]) if value == "'0300000018" else value)
    book.save(str(path))
    return path
