"""The template files of the registry layout users download (CSV with BOM, and XLSX)."""
import csv
import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from server.services.registry_columns import COLUMNS

TEXT_COLUMNS = ("ma_ho", "so_dien_thoai", "dien_thoai_ca_nhan")  # keep leading zeros in Excel
EXAMPLE = (  # a household on two rows: the head on the household's row, a child below
    {"ma_ho": "HO-001", "chu_ho": "Nguyễn Văn An", "dia_chi": "Số 12, tổ 3",
     "so_dien_thoai": "0912345678", "so_nhan_khau": 2, "so_nguoi_lon": 1, "stt": 1,
     "ho_ten": "Nguyễn Văn An", "nam_sinh": 1980, "gioi_tinh": "Nam",
     "dien_thoai_ca_nhan": "0912345678", "dong_y": "Có", "muc_dich_dong_y": "hỗ trợ, liên hệ",
     "ngay_dong_y": "15/10/2025"},
    {"ma_ho": "HO-001", "stt": 2, "nam_sinh": 2012, "gioi_tinh": "Nữ", "dong_y": "Không"},
    {"ma_ho": "HO-002", "chu_ho": "Trần Thị Bình", "dia_chi": "Số 5, tổ 1",
     "so_nhan_khau": 4, "so_nguoi_lon": 2},
)


def csv_template():
    """The header row as UTF-8 CSV with a BOM (Excel then shows Vietnamese correctly)."""
    out = io.StringIO()
    csv.writer(out).writerow([c.header for c in COLUMNS])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_template():
    """A workbook: the empty "Sổ hộ" sheet to fill, and "Hướng dẫn" with every column."""
    wb = Workbook()
    sheet = wb.active
    sheet.title = "Sổ hộ"
    sheet.append([c.header for c in COLUMNS])
    for index, column in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        cell = sheet.cell(row=1, column=index)
        cell.font, cell.fill = Font(bold=True), PatternFill("solid", fgColor="DCE6F1")
        sheet.column_dimensions[letter].width = max(12, len(column.header) + 4)
        if column.key in TEXT_COLUMNS:
            sheet.column_dimensions[letter].number_format = "@"
    sheet.freeze_panes = "A2"
    guide = wb.create_sheet("Hướng dẫn")
    guide.append(["Nhập sổ hộ của một ấp: mỗi dòng là một hộ hoặc một người. Dòng có thông tin "
                  "hộ ghi hộ; dòng có STT ghi người của hộ đó (có thể chung một dòng). Chỉ "
                  "trang tính đầu tiên được đọc; dòng 1 là tiêu đề."])
    guide.append([])
    guide.append(["Cột", "Tên kỹ thuật", "Ý nghĩa"])
    for cell in guide[3]:
        cell.font = Font(bold=True)
    for column in COLUMNS:
        guide.append([column.header, column.key, column.help])
    guide.append([])
    guide.append(["Ví dụ (chép vào trang “Sổ hộ” nếu muốn thử):"])
    guide.append([c.header for c in COLUMNS])
    for example in EXAMPLE:
        guide.append([example.get(c.key) for c in COLUMNS])
    guide.column_dimensions["A"].width = 22
    guide.column_dimensions["B"].width = 20
    guide.column_dimensions["C"].width = 100
    for (cell,) in guide.iter_rows(min_col=3, max_col=3):
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
