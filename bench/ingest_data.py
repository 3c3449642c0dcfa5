"""Deterministic push items for the ingest benchmark: households, residents, visits.

Everything comes from one seeded ``random.Random``, so two runs with the same arguments push the
same content (only the hamlet ids, which the database assigns, can differ).
"""
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

KINDS = ("households", "residents", "visits")  # push order, as a phone sends them
VN = timezone(timedelta(hours=7))
FIRST_VISIT = datetime(2025, 8, 1, 7, 0, tzinfo=VN)  # in the past, after the 2020 sanity floor
VISIT_DAYS = 90

FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi",
          "Đỗ", "Hồ", "Ngô", "Dương", "Lý")
MIDDLE = {"M": ("Văn", "Hữu", "Đức", "Minh", "Quốc", "Thanh"),
          "F": ("Thị", "Ngọc", "Thu", "Kim", "Thanh", "Mỹ")}
GIVEN = {"M": ("An", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Khoa", "Long", "Nam", "Phúc",
               "Quang", "Sơn", "Tài", "Thắng", "Tuấn", "Việt"),
         "F": ("Anh", "Châu", "Dung", "Hà", "Hạnh", "Hoa", "Hương", "Lan", "Linh", "Mai", "Nga",
               "Phương", "Thảo", "Trang", "Vy", "Yến")}
STREETS = ("ĐT763", "Quốc lộ 1A", "Hùng Vương", "Lê Lợi", "Trần Phú", "Nguyễn Văn Cừ",
           "đường liên ấp", "hẻm 12")
# Prefixes libphonenumber accepts as Vietnamese mobiles (089 is not valid for every number).
MOBILE = ("090", "091", "093", "094", "096", "097", "098", "086", "088", "070", "079", "077",
          "076", "078", "083", "084", "085", "081", "082", "032", "033", "034", "035", "036",
          "037", "038", "039", "056", "058", "059")
PERSON_CODES = ("VNEID", "CKS", "DVCTT", "TTKDTM", "ATTT", "VSSID", "SSKDT", "APPTINH")
CKS_PROVIDERS = ("VNPT", "Viettel", "FPT", "MISA", "BKAV")
DETAILS = {
    "VNEID": ("Kích hoạt định danh mức 2", "Tích hợp giấy phép lái xe", "Cài ứng dụng VNeID"),
    "CKS": ("Đăng ký chữ ký số trên điện thoại", "Hướng dẫn ký hồ sơ trực tuyến"),
    "DVCTT": ("Nộp hồ sơ cấp đổi giấy khai sinh", "Tạo tài khoản Cổng dịch vụ công"),
    "TTKDTM": ("Mở tài khoản ngân hàng số", "Tạo mã QR cho quầy tạp hóa"),
    "ATTT": ("Nhận diện cuộc gọi lừa đảo", "Bật xác thực hai lớp Zalo"),
    "VSSID": ("Cài VssID, tra cứu quá trình đóng BHXH",),
    "SSKDT": ("Kích hoạt sổ sức khỏe điện tử",),
    "APPTINH": ("Cài ứng dụng Đồng Nai số",),
    "TMDT": ("Đưa sản phẩm hạt điều lên Shopee", "Mở gian hàng TikTok Shop", "Hồ sơ OCOP"),
}
NOTES = {
    "completed": ("Hướng dẫn cài VNeID và kích hoạt mức 2 cho cả nhà.",
                  "Hộ đã được hỗ trợ đầy đủ, bà con rất hợp tác.",
                  "Hỗ trợ tạo chữ ký số, hướng dẫn nộp hồ sơ dịch vụ công."),
    "partial": ("Còn thiếu căn cước của con trai, hẹn quay lại.",
                "Điện thoại cũ không cài được ứng dụng, hẹn tuần sau."),
    "not_home": ("Hộ vắng nhà, đi làm rẫy.", "Nhà đóng cửa, hàng xóm báo đi thăm người thân."),
    "refused": ("Chủ hộ chưa muốn dùng dịch vụ số.",),
}


@dataclass
class Client:
    """One phone's outbox: its member login and its items, by kind, in push order."""

    index: int
    username: str
    hamlet_ids: list
    households: list = field(default_factory=list)
    residents: list = field(default_factory=list)
    visits: list = field(default_factory=list)

    def batches(self, kind, size):
        """The ``kind`` items cut into pushes of ``size``."""
        items = getattr(self, kind)
        return [items[i:i + size] for i in range(0, len(items), size)]


class Generator:
    """Builds push items from a seed; a household's position stays near its hamlet's centre."""

    def __init__(self, seed, hamlet_boxes):
        self.rng = random.Random(seed)
        self.hamlet_boxes = hamlet_boxes  # hamlet id -> (lon0, lat0, lon1, lat1)

    def uuid(self):
        """A UUID4 from the seeded generator (``uuid.uuid4`` would not be reproducible)."""
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def phone(self):
        return self.rng.choice(MOBILE) + f"{self.rng.randrange(10_000_000):07d}"

    def name(self, sex):
        rng = self.rng
        return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE[sex])} {rng.choice(GIVEN[sex])}"

    def location(self, hamlet_id, spread=1.0):
        lon0, lat0, lon1, lat1 = self.hamlet_boxes[hamlet_id]
        lon = lon0 + (lon1 - lon0) * (0.5 + (self.rng.random() - 0.5) * spread)
        lat = lat0 + (lat1 - lat0) * (0.5 + (self.rng.random() - 0.5) * spread)
        return {"lat": round(lat, 6), "lon": round(lon, 6),
                "accuracy_m": round(self.rng.uniform(3, 40), 1)}

    def household(self, hamlet_id, hamlet_name):
        rng = self.rng
        members = rng.randint(1, 7)
        address = (f"Số {rng.randint(1, 480)}, {rng.choice(STREETS)}, tổ {rng.randint(1, 12)}, "
                   f"{hamlet_name}")
        return {"type": "household", "id": self.uuid(), "base_version": None, "data": {
            "hamlet_id": hamlet_id, "address": address, "head_name": self.name(rng.choice("MF")),
            "members_count": members, "adults_count": rng.randint(1, members),
            "phone": self.phone() if rng.random() < 0.85 else None,
            "location": self.location(hamlet_id)}}

    def resident(self, household_id):
        rng = self.rng
        sex = rng.choice("MF")
        purposes = ["support", "contact", "photo"][:rng.randint(1, 3)]
        consent_at = FIRST_VISIT - timedelta(days=rng.randint(1, 60), minutes=rng.randint(0, 600))
        return {"type": "resident", "id": self.uuid(), "base_version": None, "data": {
            "household_id": household_id, "full_name": self.name(sex),
            "birth_year": rng.randint(1945, 2008), "sex": sex,
            "phone": self.phone() if rng.random() < 0.6 else None,
            "consent": {"given": True, "purposes": purposes, "at": consent_at.isoformat()}}}

    def visit(self, household, residents, when):
        rng = self.rng
        outcome = rng.choices(("completed", "partial", "not_home", "refused"),
                              weights=(75, 15, 7, 3))[0]
        lines = []
        if outcome in ("completed", "partial"):
            for code in self._codes(rng.randint(2, 3)):
                lines.append(self._line(code, residents, outcome))
        elif outcome == "refused":
            lines.append({"code": "VNEID", "resident_id": rng.choice(residents)["id"],
                          "result": "declined", "provider": None, "detail": None})
        follow_up = None
        if outcome in ("partial", "not_home") and rng.random() < 0.8:
            follow_up = (when + timedelta(days=rng.randint(2, 14))).date().isoformat()
        data = household["data"]
        return {"type": "visit", "id": self.uuid(), "data": {
            "household_id": household["id"], "visited_at": when.isoformat(),
            "location": self.location(data["hamlet_id"], spread=0.9),
            "outcome": outcome, "notes": rng.choice(NOTES[outcome]), "services": lines,
            "follow_up_on": follow_up}}

    def _codes(self, count):
        codes = self.rng.sample(PERSON_CODES, count)
        if self.rng.random() < 0.15:  # a household-level line now and then
            codes[-1] = "TMDT"
        return codes

    def _line(self, code, residents, outcome):
        rng = self.rng
        result = rng.choices(("done", "already_had", "in_progress"), weights=(70, 20, 10))[0]
        if outcome == "partial" and rng.random() < 0.4:
            result = "in_progress"
        return {"code": code,
                "resident_id": None if code == "TMDT" else rng.choice(residents)["id"],
                "result": result,
                "provider": rng.choice(CKS_PROVIDERS) if code == "CKS" else None,
                "detail": rng.choice(DETAILS[code]) if rng.random() < 0.7 else None}


def generate(seed, clients, visits, households, hamlet_names):
    """Fill ``clients`` (each with its hamlets) with ``households`` and ``visits`` in total.

    Households get 1-3 residents (about 2); visits go to random households of the same client,
    in time order, as a phone's outbox would hold them.
    """
    boxes = {h: box for h, (_, box) in hamlet_names.items()}
    gen = Generator(seed, boxes)
    for client in clients:
        share = _share(households, len(clients), client.index)
        people = {}
        for i in range(share):
            hamlet_id = client.hamlet_ids[i % len(client.hamlet_ids)]
            item = gen.household(hamlet_id, hamlet_names[hamlet_id][0])
            client.households.append(item)
            people[item["id"]] = [gen.resident(item["id"])
                                  for _ in range(gen.rng.choice((1, 2, 2, 2, 3)))]
            client.residents.extend(people[item["id"]])
        # Daytime visits (07:00-18:00 local) over VISIT_DAYS days, oldest first.
        moments = sorted(gen.rng.randrange(VISIT_DAYS) * 86400 + gen.rng.randrange(11 * 3600)
                         for _ in range(_share(visits, len(clients), client.index)))
        for offset in moments:
            household = gen.rng.choice(client.households)
            when = FIRST_VISIT + timedelta(seconds=offset)
            client.visits.append(gen.visit(household, people[household["id"]], when))
    return clients


def _share(total, parts, index):
    return total // parts + (1 if index < total % parts else 0)
