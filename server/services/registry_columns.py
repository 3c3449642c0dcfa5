"""The column layout of a household registry file, and the Vietnamese words of its problems.

One table, one row per household or per person: a row with household columns writes the
household ``ma_ho``; a row with person columns writes the person ``stt`` of that household (both
may share a row). Headers are matched without accents, case or punctuation, so ``Mã hộ``,
``MA HO`` and ``ma_ho`` are one column. Cells are only turned into the types a phone would send
(text, whole numbers, E.164-able phone text, codes); every rule on the values is the sync push's
(``schemas.sync.HouseholdData`` / ``ResidentData``), run by ``registry_import``.
"""
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time

from server import vocab

KEY_MAX = 40  # characters of ``ma_ho``


@dataclass(frozen=True)
class Column:
    """One column: its key, its header in the template, what it fills and how it is read."""

    key: str
    header: str
    part: str  # key | household | resident
    target: str | None  # path in the pushed data (``consent.given``)
    kind: str  # text | int | float | phone | sex | yes_no | purposes | day
    help: str
    aliases: tuple = field(default=())


COLUMNS = (
    Column("ma_ho", "Mã hộ", "key", None, "text",
           "Bắt buộc. Mã của hộ trong sổ của ấp (mã hộ, số sổ hộ khẩu…), tối đa 40 ký tự. Nhập "
           "lại cùng tệp không tạo thêm hộ: hộ được nhận ra bằng ấp và mã hộ.",
           ("ma_so_ho", "so_ho")),
    Column("chu_ho", "Chủ hộ", "household", "head_name", "text",
           "Họ tên chủ hộ.", ("ho_ten_chu_ho", "ten_chu_ho")),
    Column("dia_chi", "Địa chỉ", "household", "address", "text",
           "Số nhà, đường, tổ…", ()),
    Column("so_dien_thoai", "Số điện thoại", "household", "phone", "phone",
           "Số điện thoại của hộ (di động hoặc cố định Việt Nam).", ("dien_thoai", "sdt")),
    Column("so_nhan_khau", "Số nhân khẩu", "household", "members_count", "int",
           "Số người trong hộ, từ 1 đến 60.", ("nhan_khau",)),
    Column("so_nguoi_lon", "Số người từ 18 tuổi", "household", "adults_count", "int",
           "Số người từ đủ 18 tuổi, không lớn hơn số nhân khẩu.",
           ("so_nguoi_tu_18_tuoi", "nguoi_lon")),
    Column("vi_do", "Vĩ độ", "household", "location.lat", "float",
           "Vị trí nhà (độ thập phân, ví dụ 10,9412). Nhập cả vĩ độ và kinh độ, hoặc bỏ trống "
           "cả hai.", ()),
    Column("kinh_do", "Kinh độ", "household", "location.lon", "float",
           "Ví dụ 107,2461.", ()),
    Column("stt", "STT", "resident", None, "int",
           "Bắt buộc với dòng có thông tin người: số thứ tự của người trong hộ (1, 2, 3…). "
           "Người được nhận ra bằng mã hộ và STT.", ("stt_nhan_khau", "so_thu_tu")),
    Column("ho_ten", "Họ tên", "resident", "full_name", "text",
           "Họ tên của người. Chỉ được lưu khi người đó đồng ý.", ("ho_va_ten",)),
    Column("nam_sinh", "Năm sinh", "resident", "birth_year", "int",
           "Năm sinh, ví dụ 1985.", ()),
    Column("gioi_tinh", "Giới tính", "resident", "sex", "sex",
           "Nam, Nữ hoặc Khác.", ()),
    Column("dien_thoai_ca_nhan", "Điện thoại cá nhân", "resident", "phone", "phone",
           "Số điện thoại của người. Chỉ được lưu khi người đó đồng ý.",
           ("so_dien_thoai_ca_nhan",)),
    Column("dong_y", "Đồng ý", "resident", "consent.given", "yes_no",
           "Có hoặc Không: người này đã đồng ý cho Tổ lưu thông tin cá nhân. Để trống là "
           "Không: họ tên và điện thoại cá nhân sẽ không được lưu.",
           ("dong_y_luu_thong_tin", "da_dong_y")),
    Column("muc_dich_dong_y", "Mục đích đồng ý", "resident", "consent.purposes", "purposes",
           "Một hay nhiều mục đích, cách nhau bởi dấu phẩy: hỗ trợ, liên hệ, ảnh.",
           ("muc_dich",)),
    Column("ngay_dong_y", "Ngày đồng ý", "resident", "consent.at", "day",
           "Ngày người này đồng ý (ngày/tháng/năm). Để trống: ngày tải tệp lên.", ()),
)
BY_KEY = {c.key: c for c in COLUMNS}
BY_TARGET = {(c.part, c.target): c for c in COLUMNS if c.target}
HOUSEHOLD_KEYS = tuple(c.key for c in COLUMNS if c.part == "household")
RESIDENT_KEYS = tuple(c.key for c in COLUMNS if c.part == "resident")

_NON_WORD = re.compile(r"[^a-z0-9]+")


def header_key(text):
    """``Mã hộ`` → ``ma_ho``: accents, case and punctuation dropped."""
    text = unicodedata.normalize("NFD", str(text or "").replace("đ", "d").replace("Đ", "D"))
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn").lower()
    return _NON_WORD.sub("_", text).strip("_")


_ALIASES = {alias: c.key for c in COLUMNS for alias in (c.key, header_key(c.header), *c.aliases)}


class HeaderProblem(ValueError):
    """The header row cannot be read as this layout (a Vietnamese message)."""


def read_header(cells):
    """``[(index, column key, header as written)]`` of a header row, or HeaderProblem.

    Every non-empty header must be a known column and appear once; ``ma_ho`` is required.
    """
    columns, seen, unknown = [], {}, []
    for index, cell in enumerate(cells):
        written = "" if cell is None else str(cell).strip()
        if not written:
            continue
        key = _ALIASES.get(header_key(written))
        if key is None:
            unknown.append(written)
        elif key in seen:
            raise HeaderProblem(f"Cột “{written}” trùng với cột “{seen[key]}”.")
        else:
            seen[key] = written
            columns.append((index, key, written))
    if unknown:
        names = ", ".join(f"“{name[:40]}”" for name in unknown[:5])
        raise HeaderProblem(
            f"Không nhận ra cột {names}. Tên cột dùng được: "
            + ", ".join(c.header for c in COLUMNS) + " (xem tệp mẫu).")
    if "ma_ho" not in seen:
        raise HeaderProblem("Thiếu cột “Mã hộ” (ma_ho) ở dòng tiêu đề (dòng 1).")
    return columns


# --- reading cells into the types a phone sends ----------------------------------------------

class CellProblem(ValueError):
    """A cell that cannot be read as its column's type (a Vietnamese message)."""


_YES = {"co", "c", "x", "1", "yes", "y", "true", "dong_y", "da_dong_y"}
_NO = {"khong", "k", "0", "no", "n", "false", "khong_dong_y"}
_SEXES = {"nam": "M", "m": "M", "nu": "F", "f": "F", "khac": "X", "x": "X"}
_PURPOSES = {"ho_tro": "support", "support": "support", "lien_he": "contact",
             "contact": "contact", "anh": "photo", "hinh_anh": "photo", "chup_anh": "photo",
             "photo": "photo"}
_DAY_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y")
_NUMBER = re.compile(r"^[+-]?\d+(?:[.,]\d+)?$")


def blank(value):
    """True for an empty cell."""
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value):
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel keeps 12 as 12.0
    if isinstance(value, (datetime, date)):
        return value.strftime("%d/%m/%Y")
    return str(value)


def _whole(value):
    if isinstance(value, bool):
        raise CellProblem("Phải là số nguyên")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise CellProblem("Phải là số nguyên")
    text = str(value).strip()
    if not re.fullmatch(r"[+-]?\d{1,12}", text):
        raise CellProblem("Phải là số nguyên")
    return int(text)


def _decimal(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    if not _NUMBER.match(text):
        raise CellProblem("Phải là số thập phân, ví dụ 10,9412")
    return float(text.replace(",", "."))


def _phone(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        digits = _text(value)
        # Excel stores 0912… typed into a number cell as 912…: the leading 0 is the trunk prefix.
        return "0" + digits if len(digits) in (9, 10) and not digits.startswith("84") else digits
    return str(value)


def _sex(value):
    return _SEXES.get(header_key(value), str(value).strip())


def _yes_no(value):
    key = header_key(_text(value))
    if key in _YES:
        return True
    if key in _NO:
        return False
    raise CellProblem("Phải là Có hoặc Không")


def _purposes(value):
    parts = [p for p in re.split(r"[,;/]", str(value)) if p.strip()]
    return [_PURPOSES.get(header_key(p), p.strip()) for p in parts]


def _day(value):
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    else:
        text = str(value).strip()
        for fmt in _DAY_FORMATS:
            try:
                day = datetime.strptime(text, fmt).date()
                break
            except ValueError:
                continue
        else:
            raise CellProblem("Phải là ngày dạng ngày/tháng/năm, ví dụ 15/10/2025")
    # Consent times are moments; a day means its start in Vietnam.
    return datetime.combine(day, time.min, vocab.LOCAL_TIMEZONE).isoformat()


_READERS = {"text": _text, "int": _whole, "float": _decimal, "phone": _phone, "sex": _sex,
            "yes_no": _yes_no, "purposes": _purposes, "day": _day}


def read_cell(column, value):
    """A non-blank cell as the value a phone would send for ``column``; CellProblem if not."""
    return _READERS[column.kind](value)


# --- problems in Vietnamese -------------------------------------------------------------------

REASONS = {  # every code of server.vocab.ERROR_CODES, worded for a registry file
    "required": "Bắt buộc nhập",
    "null": "Không được để trống",
    "invalid": "Giá trị không hợp lệ",
    "wrong_type": "Sai kiểu dữ liệu",
    "not_uuid": "Mã không hợp lệ",
    "not_datetime": "Ngày không hợp lệ",
    "not_date": "Ngày không hợp lệ",
    "unknown_field": "Cột không được hỗ trợ",
    "too_long": "Quá dài",
    "too_short": "Quá ngắn",
    "blank": "Chỉ có khoảng trắng",
    "bad_characters": "Có ký tự điều khiển, ký tự ẩn hoặc ký tự lỗi",
    "out_of_range": "Ngoài khoảng cho phép",
    "not_allowed": "Không thuộc các giá trị cho phép",
    "invalid_phone": "Số điện thoại không hợp lệ (cần số di động hoặc cố định Việt Nam, ví dụ "
                     "0912345678)",
    "in_future": "Ngày ở tương lai",
    "too_old": f"Ngày trước năm {vocab.EARLIEST_DATE.year}",
    "before_visit": "Trước ngày thăm",
    "too_far_ahead": "Quá xa sau ngày thăm",
    "exceeds_members": "Nhiều hơn số nhân khẩu của hộ",
    "repeated_line": "Bị ghi hai lần",
    "unknown_hamlet": "Ấp không còn trên hệ thống",
    "unknown_household": "Hộ chưa có trên hệ thống",
    "unknown_service": "Dịch vụ không có hoặc đã ngừng",
    "not_household_member": "Người này không thuộc hộ",
    "resident_required": "Cần chọn người",
    "bad_provider": "Không phải nhà cung cấp của dịch vụ này",
    "out_of_scope": "Ngoài các ấp bạn phụ trách",
    "no_such_record": "Hệ thống không có bản ghi này",
    "id_taken": "Mã này đã được dùng cho một bản ghi khác",
    "concurrent_change": "Có thay đổi cùng lúc trên hệ thống; hãy nhập lại tệp",
    "not_object": "Dữ liệu sai cấu trúc",
    "unstorable": "Hệ thống không lưu được dòng này",
    # Visit revisions' codes: an import carries no visits, listed so every code has a reason.
    "not_your_visit": "Lượt thăm do thành viên khác ghi",
    "visit_reviewed": "Lượt thăm đã được xã duyệt hoặc loại",
    "household_changed": "Không được đổi hộ của lượt thăm",
}
_BOUNDS = {"so_nhan_khau": "household.members_count", "so_nguoi_lon": "household.adults_count",
           "nam_sinh": "resident.birth_year", "vi_do": "location.lat", "kinh_do": "location.lon",
           "stt": "household.members_count"}
_LENGTHS = {"chu_ho": "household.head_name", "dia_chi": "household.address",
            "ho_ten": "resident.full_name"}


def reason(column_key, code):
    """The Vietnamese reason of a field error ``code`` in column ``column_key``."""
    if code == "out_of_range" and column_key in _BOUNDS:
        low, high = vocab.number_bounds(_BOUNDS[column_key])
        return f"Phải từ {low} đến {high}"
    if code == "too_long" and column_key in _LENGTHS:
        return f"Dài quá {vocab.TEXT[_LENGTHS[column_key]][1]} ký tự"
    if code == "not_allowed" and column_key == "gioi_tinh":
        return "Phải là Nam, Nữ hoặc Khác"
    if code == "not_allowed" and column_key == "muc_dich_dong_y":
        return "Mục đích phải là hỗ trợ, liên hệ hoặc ảnh"
    if code == "too_long" and column_key == "muc_dich_dong_y":
        return "Ghi quá nhiều mục đích"
    return REASONS.get(code, REASONS["invalid"])
