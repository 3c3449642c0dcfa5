"""One registry row → the household and person data a phone would push, checked by the push's
own schemas (``schemas.sync.DATA_SCHEMAS``), with every problem named by column in Vietnamese.

Stable ids make a re-import idempotent: a household is ``uuid5(hamlet id, ma_ho)``, a person
``uuid5(household id, stt)``, so the same row always lands on the same records.
"""
import re
import uuid
from dataclasses import dataclass, field

from marshmallow import ValidationError

from schemas.fields import Int, clean_text
from schemas.sync import DATA_SCHEMAS
from server import vocab
from server.services.registry_columns import (BY_KEY, BY_TARGET, HOUSEHOLD_KEYS, KEY_MAX,
                                              RESIDENT_KEYS, CellProblem, blank, read_cell,
                                              reason)
from server.services.sync_push import flatten
from server.vocab import code_of

HOUSEHOLD_NAMESPACE = uuid.UUID("1b7c3f0e-5d2a-4c6b-9e41-7a0d2f9c3b15")
RESIDENT_NAMESPACE = uuid.UUID("8e2d4a61-0c3f-4b7e-a519-3d6c0f2b7e48")
_STT = Int(bounds=vocab.NUMBERS["household.members_count"])
_INDEX = re.compile(r"\.\d+$")


def household_id(hamlet_id, key):
    """The id of the household ``key`` of a hamlet's registry."""
    return uuid.uuid5(HOUSEHOLD_NAMESPACE, f"{hamlet_id}:{key}")


def resident_id(household, stt):
    """The id of person number ``stt`` of a registry household."""
    return uuid.uuid5(RESIDENT_NAMESPACE, f"{household}:{stt}")


@dataclass
class Row:
    """A data row read and checked: what it writes, or why it cannot."""

    number: int
    key: str | None = None
    household_id: uuid.UUID | None = None
    household: dict | None = None  # HouseholdData, loaded
    stt: int | None = None
    resident: dict | None = None  # ResidentData, loaded
    consent_dated: bool = False  # the file gave the day of consent (else: upload time)
    problems: list = field(default_factory=list)  # [(column key or "", Vietnamese reason)]

    def problem(self, column, text):
        self.problems.append((column, text))


def _column_of(part, path):
    path = _INDEX.sub("", path)
    column = BY_TARGET.get((part, path))
    if column is None and path == "location":
        column = BY_KEY["vi_do"]
    if column is None and path == "household_id":
        column = BY_KEY["ma_ho"]
    return column.key if column else ""


def _nest(flat):
    data = {}
    for path, value in flat.items():
        head, _, tail = path.partition(".")
        if tail:
            data.setdefault(head, {})[tail] = value
        else:
            data[head] = value
    return data


class RowReader:
    """Reads the data rows of one file for one hamlet."""

    def __init__(self, header, hamlet_id, consent_at):
        """``header`` as ``registry_files`` reads it; ``consent_at``: an undated consent's time."""
        self.hamlet_id = hamlet_id
        self.consent_at = consent_at
        self.columns = [(index, BY_KEY[key]) for index, key, _ in header]
        self.headed = {index for index, _ in self.columns}

    def read(self, number, cells):
        """The checked ``Row``, or None for a blank row."""
        row = Row(number)
        if cells is None:
            row.problem("", "Dòng không đọc được (ký tự lạ, ô quá dài hoặc dấu ngoặc kép lỗi)")
            return row
        values = {column.key: cells[index] for index, column in self.columns
                  if index < len(cells) and not blank(cells[index])}
        stray = any(not blank(cell) for index, cell in enumerate(cells)
                    if index not in self.headed)
        if not values and not stray:
            return None
        if stray:
            row.problem("", "Có ô dữ liệu ở cột không có tiêu đề (với CSV: dấu phẩy hoặc chấm "
                            "phẩy trong một ô cần đặt ô đó trong dấu ngoặc kép)")
        self._key(row, values)
        household = self._parts(row, values, HOUSEHOLD_KEYS)
        resident = self._parts(row, values, RESIDENT_KEYS)
        if household is None and resident is None and row.key is not None:
            row.problem("", "Dòng chỉ có mã hộ: cần thông tin hộ (chủ hộ, địa chỉ…) hoặc "
                            "thông tin người (STT, họ tên…)")
        if household is not None:
            self._household(row, household)
        if resident is not None:
            self._resident(row, values, resident)
        return row

    def _key(self, row, values):
        if "ma_ho" not in values:
            row.problem("ma_ho", reason("ma_ho", "required"))
            return
        try:
            key = clean_text(read_cell(BY_KEY["ma_ho"], values["ma_ho"]), "line", KEY_MAX)
        except ValidationError as err:
            row.problem("ma_ho", reason("ma_ho", code_of(err.messages[0])))
            return
        row.key = key
        row.household_id = household_id(self.hamlet_id, key)

    def _parts(self, row, values, keys):
        """``{target: value}`` of the columns ``keys`` present, or None when none is."""
        present = [k for k in keys if k in values]
        if not present:
            return None
        flat = {}
        for key in present:
            column = BY_KEY[key]
            try:
                value = read_cell(column, values[key])
            except CellProblem as problem:
                row.problem(key, str(problem))
                continue
            if column.target:
                flat[column.target] = value
            else:
                flat[key] = value
        return flat

    def _household(self, row, flat):
        lat, lon = flat.pop("location.lat", None), flat.pop("location.lon", None)
        if (lat is None) != (lon is None):
            row.problem("kinh_do" if lon is None else "vi_do", "Cần nhập cả vĩ độ và kinh độ")
        elif lat is not None:
            flat["location"] = {"lat": lat, "lon": lon}
        self._load(row, "household", {"hamlet_id": self.hamlet_id, **flat})

    def _resident(self, row, values, flat):
        stt = flat.pop("stt", None)
        if "stt" not in values:
            row.problem("stt", "Bắt buộc nhập với dòng có thông tin người")
        elif stt is not None:
            try:
                row.stt = _STT.deserialize(stt)
            except ValidationError as err:
                row.problem("stt", reason("stt", code_of(err.messages[0])))
        data = _nest(flat)
        consent = data.pop("consent", {})
        row.consent_dated = "at" in consent
        consent.setdefault("given", False)
        consent.setdefault("at", self.consent_at)
        data["consent"] = consent
        data["household_id"] = str(row.household_id or uuid.UUID(int=0))
        self._load(row, "resident", data)

    def _load(self, row, part, data):
        try:
            loaded = DATA_SCHEMAS[part].load(data)
        except ValidationError as err:
            messages = err.messages if isinstance(err.messages, dict) else {"": err.messages}
            for path, texts in flatten(messages).items():
                column = _column_of(part, path)
                for text in texts:
                    row.problem(column, reason(column, code_of(text)))
            return
        setattr(row, part, loaded)
