"""Reading an uploaded registry file row by row, in memory that does not grow with the file.

CSV: UTF-8 with or without BOM, comma or semicolon (chosen from the header line); the file is
read line by line from disk and fed to ``csv.reader``, which holds one record at a time.
XLSX: the first sheet through openpyxl's read-only mode (rows parsed from the zipped XML as they
are iterated). That mode still reads the workbook's whole shared-strings table into a list —
every distinct text of the file, which Excel and LibreOffice always write — so here the table
is streamed into a temporary SQLite file instead and looked up by index.
"""
import codecs
import csv
import sqlite3
import tempfile
import zipfile
from collections import OrderedDict
from pathlib import Path

from server.services.registry_columns import HeaderProblem, read_header

CSV_CHUNK = 1 << 16


class FileProblem(ValueError):
    """The file as a whole cannot be read (a Vietnamese message)."""


def file_format(filename):
    """``csv`` or ``xlsx`` from an upload's name, or FileProblem."""
    suffix = Path(filename or "").suffix.lower()
    if suffix in (".csv", ".txt"):
        return "csv"
    if suffix == ".xlsx":
        return "xlsx"
    raise FileProblem("Chỉ nhận tệp CSV (.csv) hoặc Excel (.xlsx). Tệp .xls cũ: mở bằng Excel "
                      "rồi lưu thành .xlsx.")


def check_utf8(path):
    """FileProblem unless the whole file decodes as UTF-8 (read in chunks)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open(path, "rb") as fh:
        try:
            while chunk := fh.read(CSV_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise FileProblem(
                "Tệp CSV không ở mã UTF-8, chữ tiếng Việt sẽ bị lỗi. Trong Excel chọn Lưu thành "
                "→ “CSV UTF-8 (Comma delimited)”, hoặc tải lên tệp .xlsx.") from None


class CsvRows:
    """``(row number, cells)`` of a CSV file's data rows; the header row is row 1."""

    def __init__(self, path):
        self.path = Path(path)
        self.size = max(self.path.stat().st_size, 1)
        self._read = 0
        self._fh = open(self.path, "rb")
        try:
            self._read_header()
        except Exception:
            self.close()
            raise

    def _read_header(self):
        first = self._fh.readline()
        self._read = len(first)
        text = first.decode("utf-8", errors="replace").lstrip("\ufeff")
        if not text.strip():
            raise FileProblem("Tệp trống: dòng 1 phải là dòng tiêu đề (xem tệp mẫu).")
        self.delimiter = ";" if text.count(";") > text.count(",") else ","
        try:
            self.header = read_header(next(csv.reader([text], delimiter=self.delimiter)))
        except csv.Error:
            raise FileProblem("Không đọc được dòng tiêu đề của tệp CSV.") from None

    def _lines(self):
        for raw in self._fh:
            self._read += len(raw)
            yield raw.decode("utf-8", errors="replace")

    def fraction(self):
        """How much of the file was read (0..1)."""
        return min(self._read / self.size, 1.0)

    def __iter__(self):
        reader = csv.reader(self._lines(), delimiter=self.delimiter)
        number = 1
        while True:
            number += 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error:
                yield number, None  # a record the csv module cannot split (a NUL, a huge cell)
                continue
            yield number, cells

    def close(self):
        self._fh.close()


def _text_of(item, ns="{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"):
    """The text of a shared string ``<si>``, as openpyxl's ``Text.content`` reads it: its plain
    ``<t>`` then each rich-text run's ``<t>`` (phonetic guides ``<rPh>`` left out)."""
    parts = []
    for child in item:
        if child.tag == ns + "t":
            parts.append(child.text or "")
        elif child.tag == ns + "r":
            run = child.find(ns + "t")
            if run is not None:
                parts.append(run.text or "")
    return "".join(parts).replace("x005F_", "")


class DiskStrings:
    """A workbook's shared strings in a temporary SQLite file; ``strings[i]`` as openpyxl reads
    them, with a small cache for the texts a column repeats."""

    CACHE = 4096
    BATCH = 5000

    def __init__(self, source):
        from openpyxl.xml.constants import SHEET_MAIN_NS
        from openpyxl.xml.functions import iterparse

        self._dir = tempfile.TemporaryDirectory(prefix="cnscd-xlsx-")
        self._db = sqlite3.connect(Path(self._dir.name) / "strings.db")
        self._db.execute("CREATE TABLE strings (i INTEGER PRIMARY KEY, t TEXT)")
        self._cache = OrderedDict()
        tag, batch, count, root = f"{{{SHEET_MAIN_NS}}}si", [], 0, None
        for event, node in iterparse(source, events=("start", "end")):
            if root is None:
                root = node  # <sst>: its finished children are dropped as we go
                continue
            if event == "end" and node.tag == tag:
                batch.append((count, _text_of(node)))
                count += 1
                root.clear()
                if len(batch) >= self.BATCH:
                    self._db.executemany("INSERT INTO strings VALUES (?, ?)", batch)
                    batch = []
        if batch:
            self._db.executemany("INSERT INTO strings VALUES (?, ?)", batch)
        self._db.commit()
        self._count = count

    def __len__(self):
        return self._count

    def __getitem__(self, index):
        text = self._cache.get(index)
        if text is None:
            row = self._db.execute("SELECT t FROM strings WHERE i = ?", (index,)).fetchone()
            if row is None:
                raise IndexError(index)
            text = self._cache[index] = row[0]
            if len(self._cache) > self.CACHE:
                self._cache.popitem(last=False)
        return text

    def close(self):
        self._db.close()
        self._dir.cleanup()


def _load_workbook(path):
    """openpyxl's ``load_workbook(read_only=True, data_only=True)`` with ``DiskStrings``."""
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.xml.constants import SHARED_STRINGS

    class Reader(ExcelReader):
        def read_strings(self):
            part = self.package.find(SHARED_STRINGS)
            if part is not None:
                with self.archive.open(part.PartName[1:]) as src:
                    self.shared_strings = DiskStrings(src)

    reader = Reader(path, read_only=True, data_only=True)
    try:
        reader.read()
    except BaseException:
        reader.archive.close()
        if isinstance(reader.shared_strings, DiskStrings):
            reader.shared_strings.close()
        raise
    return reader.wb, reader.shared_strings


def _row_parser(worksheet, strings):
    """openpyxl's parser of a read-only sheet, minus what it keeps per row.

    ``WorkSheetParser.parse`` empties each parsed ``<row>`` but leaves it in ``<sheetData>``
    (about 80 bytes a row) and files rows with a height or style in ``row_dimensions``: this one
    drops both as it goes. Values are openpyxl's (types, shared strings, dates by cell style).
    """
    from openpyxl.worksheet._reader import WorkSheetParser
    from openpyxl.xml.constants import SHEET_MAIN_NS
    from openpyxl.xml.functions import iterparse

    row_tag, data_tag = f"{{{SHEET_MAIN_NS}}}row", f"{{{SHEET_MAIN_NS}}}sheetData"

    class Parser(WorkSheetParser):
        def parse(self):
            data = None
            for event, element in iterparse(self.source, events=("start", "end")):
                if event == "start":
                    if element.tag == data_tag:
                        data = element
                elif element.tag == row_tag:
                    row = self.parse_row(element)
                    (data if data is not None else element).clear()
                    self.row_dimensions.clear()
                    yield row

    book = worksheet.parent
    return Parser(worksheet._get_source(), strings, data_only=True, epoch=book.epoch,
                  date_formats=book._date_formats, timedelta_formats=book._timedelta_formats)


class XlsxRows:
    """``(row number, cells)`` of the first sheet of a workbook; the header row is row 1."""

    def __init__(self, path):
        self._strings = None
        try:
            self._wb, self._strings = _load_workbook(path)
        except Exception:  # noqa: BLE001 - any way openpyxl fails to open it: not a usable file
            raise FileProblem("Không mở được tệp Excel (.xlsx). Hãy mở tệp bằng Excel và lưu "
                              "lại, hoặc dùng tệp mẫu.") from None
        if not self._wb.worksheets:
            self.close()
            raise FileProblem("Tệp Excel không có trang tính nào.")
        self._ws = self._wb.worksheets[0]
        self._parser = _row_parser(self._ws, self._strings)
        self._rows = self._values()
        self._number = 0
        try:
            _, first = next(self._rows, (None, None))
        except Exception:  # noqa: BLE001 - a damaged sheet XML
            self.close()
            raise FileProblem("Không đọc được trang tính đầu tiên của tệp Excel.") from None
        if first is None or all(cell is None for cell in first):
            self.close()
            raise FileProblem("Trang tính đầu tiên trống: dòng 1 phải là dòng tiêu đề "
                              "(xem tệp mẫu).")
        try:
            self.header = read_header(first)
        except HeaderProblem:
            self.close()
            raise
        self._total = self._ws.max_row or 0

    def _values(self):
        """``(Excel row number, [value of column A, B, …])`` of each row the sheet holds."""
        rows = self._parser.parse()
        while True:
            try:
                number, cells = next(rows)
            except StopIteration:
                return
            except Exception:  # noqa: BLE001 - broken XML, a string index the table lacks…
                raise FileProblem(f"Tệp Excel bị hỏng sau dòng {self._number}; các dòng trước "
                                  "đó đã được nhập. Hãy mở tệp bằng Excel, lưu lại rồi nhập "
                                  "lại.") from None
            self._number = number
            values = [None] * max((c["column"] for c in cells), default=0)
            for cell in cells:
                values[cell["column"] - 1] = cell["value"]
            yield number, values

    def fraction(self):
        """How many of the sheet's rows were read (0..1; 0 when the sheet states no size)."""
        return min(self._number / self._total, 1.0) if self._total else 0.0

    def __iter__(self):
        return self._rows

    def close(self):
        parser = getattr(self, "_parser", None)
        if parser is not None:
            parser.source.close()
        self._wb.close()
        if isinstance(self._strings, DiskStrings):
            self._strings.close()


def open_rows(path, fmt):
    """The row reader of a stored upload (FileProblem/HeaderProblem when unreadable)."""
    return CsvRows(path) if fmt == "csv" else XlsxRows(path)


def check_upload(path, fmt):
    """Refuse a file that is not UTF-8 (CSV) or whose header is not the layout, before queuing.

    Returns the header ``[(index, key, header as written)]``.
    """
    if Path(path).stat().st_size == 0:
        raise FileProblem("Tệp trống.")
    if fmt == "csv":
        check_utf8(path)
    elif not zipfile.is_zipfile(path):
        raise FileProblem("Tệp không phải tệp Excel .xlsx (có thể là .xls hoặc .csv đổi tên).")
    rows = open_rows(path, fmt)
    try:
        return rows.header
    finally:
        rows.close()
