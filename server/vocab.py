"""The one place for vocabularies and input limits: schemas, models, services and the PWA (via
``GET /api/v1/rules``) all take them from here, so a record the phone accepts is one the server
accepts. No SQLAlchemy, no Flask: anything may import this module.
"""
from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum


class Role(StrEnum):
    """Who a user is; decides scope."""

    MEMBER = "member"
    TEAM_LEAD = "team_lead"
    COMMUNE_OFFICER = "commune_officer"
    PROVINCE_ANALYST = "province_analyst"
    ADMIN = "admin"


ROLES = tuple(r.value for r in Role)
FIELD_ROLES = (Role.MEMBER.value, Role.TEAM_LEAD.value, Role.COMMUNE_OFFICER.value)

ITEM_TYPES = ("household", "resident", "visit")
SEXES = ("M", "F", "X")
CONSENT_PURPOSES = ("support", "contact", "photo")
OUTCOMES = ("completed", "partial", "not_home", "refused")
REACHED_OUTCOMES = ("completed", "partial")  # a visit with these "reached" the household
RESULTS = ("done", "already_had", "in_progress", "declined", "not_eligible", "failed")
REVIEW_STATES = ("received", "has_issues", "approved", "rejected")
HAMLET_KINDS = ("ap", "thon", "khu_pho", "to_dan_pho")
COMMUNE_KINDS = ("xa", "phuong", "dac_khu")
SERVICE_UNITS = ("person", "household")
PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp")

# Numbers a client may send; ids are 32-bit because PostgreSQL's INTEGER is.
INT32_MAX = 2**31 - 1
NUMBERS = {
    "household.members_count": (1, 60),
    "household.adults_count": (0, 60),
    "resident.birth_year": (1900, None),  # None: the current year, computed when checked
    "location.lat": (-90, 90),
    "location.lon": (-180, 180),
    "location.accuracy_m": (0, 100_000),
    "id": (1, INT32_MAX),
    "version": (1, INT32_MAX),
}

# Text kinds. Every kind refuses lone surrogates, NUL and other control characters, and the
# bidirectional overrides that make a name display as something else ("Trojan source").
# Names also refuse every invisible format character (zero-width spaces and joiners).
TEXT_KINDS = {
    "name": {"forbidden_categories": ["Cc", "Cf", "Cs", "Co", "Cn"], "allowed": [],
             "single_line": True},
    "line": {"forbidden_categories": ["Cc", "Cs", "Co"], "allowed": [], "single_line": True},
    "text": {"forbidden_categories": ["Cc", "Cs", "Co"], "allowed": ["\n", "\t"],
             "single_line": False},
}
# Whitespace, spelled out so Python and JavaScript agree (their \s classes differ at the edges).
WHITESPACE = "[ \t\n\r\f\v\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+"
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"

# field -> (kind, max length in characters after NFC normalisation)
TEXT = {
    "household.address": ("line", 255),
    "household.head_name": ("name", 160),
    "resident.full_name": ("name", 160),
    "visit.notes": ("text", 4000),
    "service.code": ("line", 16),
    "service.provider": ("line", 40),
    "service.detail": ("line", 255),
    "push.device_id": ("line", 120),
    "vocabulary": ("line", 40),  # a value of one of the vocabularies above
    "auth.username": ("line", 80),
    "auth.password": ("line", 256),
}

LOCAL_UTC_OFFSET_HOURS = 7  # Vietnam has no daylight saving; days and months are local
LOCAL_TIMEZONE = timezone(timedelta(hours=LOCAL_UTC_OFFSET_HOURS))
PHONE_REGION = "VN"
# What the phone checks before libphonenumber's stricter test on the server: Vietnamese mobile
# (03x, 05x, 07x, 08x, 09x) and landline (02x) numbers, written 0…, 84… or +84…, separators
# (spaces, dots, dashes, brackets) removed first. JavaScript-compatible syntax.
PHONE_PATTERN = r"^(?:\+84|84|0)(?:3[2-9]|5[25689]|7[06-9]|8[1-9]|9[0-46-9])\d{7}$|^(?:\+84|84|0)2\d{9}$"
PHONE_SEPARATORS = r"[\s.\-()]"

EARLIEST_DATE = date(2020, 1, 1)  # visits and consents before the programme are clock errors
CLOCK_SKEW_MINUTES = 15  # how far in the future a phone's clock may be
FOLLOW_UP_MAX_DAYS = 366  # a follow-up is due at most this long after its visit

PUSH_MAX_ITEMS = 500
PUSH_MAX_BYTES = 2 * 1024 * 1024
SERVICES_PER_VISIT = 200
KEEP_OPEN_PER_VISIT = 50  # follow-ups one visit may leave open (``keep_open``)
PULL_MAX_LIMIT = 1000
JSON_MAX_DEPTH = 32  # deepest nesting of any request body (a visit needs 5)
PHOTO_MAX_BYTES = 10 * 1024 * 1024

# Stable machine codes of item rejections and field errors (``codes`` in push results). The text is
# for people reading logs; clients show their own language (the PWA: static/app/labels.js).
ERROR_CODES = {
    "required": "a value is required",
    "null": "may not be null",
    "invalid": "not a valid value",
    "wrong_type": "has the wrong type",
    "not_uuid": "not a valid UUID",
    "not_datetime": "not an ISO 8601 date-time with an offset",
    "not_date": "not an ISO 8601 date",
    "unknown_field": "unknown field",
    "too_long": "too long",
    "too_short": "too short",
    "blank": "only whitespace",
    "bad_characters": "contains control, invisible or unpaired characters",
    "out_of_range": "out of the allowed range",
    "not_allowed": "not one of the allowed values",
    "invalid_phone": "not a valid Vietnamese phone number",
    "in_future": "in the future (check the phone's clock)",
    "too_old": "implausibly old (check the phone's clock)",
    "before_visit": "before the visit",
    "too_far_ahead": "too far after the visit",
    "exceeds_members": "more than the household's members",
    "repeated_line": "a service is listed twice for the same resident",
    "unknown_hamlet": "unknown hamlet",
    "unknown_household": "unknown household (push it first, in the same or an earlier batch)",
    "unknown_service": "unknown or retired service code",
    "not_household_member": "not a resident of this household",
    "resident_required": "required for a person-level service",
    "bad_provider": "not a provider of this service",
    "out_of_scope": "outside your hamlets",
    "no_such_record": "the server has no such record; send base_version null to create it",
    "id_taken": "a different record was already stored with this id",
    "concurrent_change": "could not be stored because of a concurrent change; send it again",
    "not_object": "must be an object",
    "unstorable": "could not be stored; the record was set aside and the rest of the batch kept",
    "not_your_visit": "only the member who recorded this visit may correct it",
    "visit_reviewed": "the office has approved or rejected this visit; it can no longer be corrected",
    "household_changed": "a correction cannot move the visit to another household",
}


def current_year():
    """This year (the birth-year bound moves with it)."""
    return datetime.now(LOCAL_TIMEZONE).year


def local_day(moment):
    """The Vietnamese calendar day of an aware ``moment``."""
    return moment.astimezone(LOCAL_TIMEZONE).date()


def day_start(day):
    """The first moment of a Vietnamese calendar day: the inverse of ``local_day``.

    Day filters compare ``visited_at`` with these bounds rather than ``visited_on`` with the day,
    so a range of days is a range scan of the visited_at index.
    """
    return datetime.combine(day, time.min, LOCAL_TIMEZONE)


def number_bounds(key):
    """``(min, max)`` of a bounded number, with the current year filled in."""
    low, high = NUMBERS[key]
    return low, current_year() if high is None else high


class Problem(str):
    """An error message that also carries its stable code (``codes`` in push results)."""

    code = "invalid"

    def __new__(cls, code, message=None):
        text = super().__new__(cls, message or ERROR_CODES[code])
        text.code = code
        return text


def code_of(message):
    """The stable code of an error message (``invalid`` when it carries none)."""
    return getattr(message, "code", "invalid")
