"""The registry files of the import memory bench (bench/import_memory.py), deterministic from a
seed: households of 1–5 people, the household's data on its first person's row, about 1% bad
rows, with the counts an import of them must report. CSV is written with BOM and ``;``; XLSX as
Excel and LibreOffice write it (``write_excel_like``, also used by tests/registry_helpers.py).
"""
import csv
import random
import time

HEADER = ["Mã hộ", "Chủ hộ", "Địa chỉ", "Số điện thoại", "Số nhân khẩu", "Số người từ 18 tuổi",
          "STT", "Họ tên", "Năm sinh", "Giới tính", "Điện thoại cá nhân", "Đồng ý",
          "Mục đích đồng ý"]
FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi",
          "Đỗ", "Hồ", "Ngô", "Dương", "Lý")
MIDDLE = ("Văn", "Thị", "Hữu", "Đức", "Ngọc", "Minh", "Thanh", "Quốc", "Kim", "Gia")
GIVEN = ("An", "Bình", "Cúc", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hòa", "Hùng", "Lan", "Linh",
         "Long", "Mai", "Nam", "Nga", "Phúc", "Quân", "Sơn", "Tâm", "Thảo", "Trang", "Tuấn", "Yến")
BAD_SHARE = 0.01


def generate_rows(count, seed, prefix="H"):
    """Yield ``count`` registry rows; the generator's expectations are filled into the dict
    yielded last (as ``("expected", {...})``)."""
    rng = random.Random(seed)
    year = time.localtime().tm_year
    expect = {"rows": 0, "households_created": 0, "residents_created": 0,
              "residents_without_consent": 0, "rows_with_errors": 0}
    index = 0
    while expect["rows"] < count:
        index += 1
        key = f"{prefix}{index:06d}"
        people = rng.randint(1, 5)
        years = [rng.randint(1940, year - 18)] + [rng.randint(1940, year)
                                                  for _ in range(people - 1)]
        adults = sum(1 for y in years if y <= year - 18)
        bad_household = rng.random() < BAD_SHARE
        phone = "12345" if bad_household else f"091{rng.randint(0, 9_999_999):07d}"
        for stt, born in enumerate(years, start=1):
            if expect["rows"] >= count:
                break
            name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
            given = rng.random() < 0.7
            bad_person = stt > 1 and rng.random() < BAD_SHARE
            person = [str(stt), name if given else "", "1800" if bad_person else str(born),
                      rng.choice(("Nam", "Nữ")),
                      f"098{rng.randint(0, 9_999_999):07d}" if given else "",
                      "Có" if given else "Không", "hỗ trợ, liên hệ" if given else ""]
            if stt == 1:
                cells = [key, name, f"Số {rng.randint(1, 400)}, tổ {rng.randint(1, 12)}", phone,
                         str(people), str(adults)] + person
            else:
                cells = [key, "", "", "", "", ""] + person
            expect["rows"] += 1
            if bad_household or bad_person:
                expect["rows_with_errors"] += 1
            else:
                expect["residents_created"] += 1
                expect["households_created"] += stt == 1
                expect["residents_without_consent"] += not given
            yield cells
    yield ("expected", expect)


def write_file(path, fmt, count, seed):
    """Write a registry file of ``count`` rows; returns what importing it must do."""
    rows = generate_rows(count, seed)
    if fmt == "csv":
        with open(path, "w", newline="", encoding="utf-8-sig") as out:
            writer = csv.writer(out, delimiter=";")
            writer.writerow(HEADER)
            for row in rows:
                if isinstance(row, tuple):
                    return row[1]
                writer.writerow(row)
    expected = {}

    def cells():
        yield HEADER
        for row in rows:
            if isinstance(row, tuple):
                expected.update(row[1])
                return
            yield [int(c) if c.isdigit() and len(c) < 6 else c for c in row]

    write_excel_like(path, cells(), count + 1, len(HEADER))
    return expected


_XLSX_PARTS = {
    "[Content_Types].xml":
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
        'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.'
        'openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
    "_rels/.rels":
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml":
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="Sổ hộ" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels":
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/worksheet" Target="worksheets/sheet1.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
}


def write_excel_like(path, rows, count, width):
    """An XLSX as Excel and LibreOffice write it: every text goes to the shared-strings table
    (openpyxl writes inline strings, which would spare the reader that table)."""
    import zipfile
    from xml.sax.saxutils import escape

    from openpyxl.utils import get_column_letter

    letters = [get_column_letter(i + 1) for i in range(width)]
    strings = {}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in _XLSX_PARTS.items():
            archive.writestr(name, text)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet '
                         'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                         f'<dimension ref="A1:{letters[-1]}{count}"/><sheetData>').encode())
            for number, row in enumerate(rows, start=1):
                cells = []
                for letter, value in zip(letters, row):
                    if value is None or value == "":
                        continue
                    if isinstance(value, (int, float)):
                        cells.append(f'<c r="{letter}{number}"><v>{value}</v></c>')
                    else:
                        index = strings.setdefault(value, len(strings))
                        cells.append(f'<c r="{letter}{number}" t="s"><v>{index}</v></c>')
                sheet.write(f'<row r="{number}">{"".join(cells)}</row>'.encode())
            sheet.write(b"</sheetData></worksheet>")
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as table:
            table.write(('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="'
                         'http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                         f'count="{len(strings)}" uniqueCount="{len(strings)}">').encode())
            for text in strings:  # dicts keep insertion order: index order
                table.write(f"<si><t>{escape(text)}</t></si>".encode())
            table.write(b"</sst>")
