"""Push and pull: the envelope, the per-type item data, and the results.

Every limit and vocabulary comes from ``server.vocab``; every error carries a stable code.
"""
from datetime import timedelta

from marshmallow import (Schema, ValidationError, fields, post_load, pre_load, validate,
                         validates_schema)

from schemas.fields import (UUID, Bool, Day, Dict, Float, Int, List, MaxItems, Moment, Nested,
                            OneOf, PhoneNumber, Raw, StrictSchema, Text)
from schemas.geo import LocationIn
from schemas.records import RecordField, ServerCopyField
from server import vocab
from server.vocab import Problem


class PushIn(StrictSchema):
    """The push envelope; items are validated one by one so a bad one loses nothing else."""

    device_id = Text("push.device_id", required=True)
    # allow_none: a null item is one rejected result, not a broken envelope.
    items = List(Raw(allow_none=True), required=True)


class ItemIn(StrictSchema):
    """One pushed record."""

    type = Text("vocabulary", required=True, validate=OneOf(vocab.ITEM_TYPES))
    id = UUID(required=True)
    base_version = Int(bounds=vocab.NUMBERS["version"], load_default=None, allow_none=True,
                       metadata={"description": "null to create; the version the phone last saw "
                                                "to edit (a visit: its revision, to correct it)"})
    data = Dict(required=True)


class EchoTolerant(StrictSchema):
    """Accepts and drops the read-only fields pull returns, so clients may send pulled data back."""

    READ_ONLY = ()

    @pre_load
    def _drop_read_only(self, data, **kwargs):
        if isinstance(data, dict):
            data = {k: v for k, v in data.items() if k not in self.READ_ONLY}
        return data


def _count(key):
    return Int(bounds=vocab.number_bounds(key), load_default=None, allow_none=True)


class HouseholdData(EchoTolerant):
    """A household as a phone registers or edits it."""

    READ_ONLY = ("id",)

    hamlet_id = Int(bounds=vocab.NUMBERS["id"], required=True)
    address = Text("household.address", load_default="")
    head_name = Text("household.head_name", load_default=None, allow_none=True)
    members_count = _count("household.members_count")
    adults_count = _count("household.adults_count")
    phone = PhoneNumber(load_default=None, allow_none=True)
    location = Nested(LocationIn, load_default=None, allow_none=True)

    @validates_schema
    def _adults_within_members(self, data, **kwargs):
        members, adults = data.get("members_count"), data.get("adults_count")
        if members is not None and adults is not None and adults > members:
            raise ValidationError(Problem("exceeds_members", "cannot exceed members_count"),
                                  "adults_count")


class ConsentIn(EchoTolerant):
    """A resident's consent; ``given: false`` on an edit is a withdrawal."""

    READ_ONLY = ("withdrawn_at",)

    given = Bool(required=True)
    purposes = List(Text("vocabulary", validate=OneOf(vocab.CONSENT_PURPOSES)),
                    load_default=list, validate=MaxItems(len(vocab.CONSENT_PURPOSES)))
    at = Moment(required=True)


class ResidentData(EchoTolerant):
    """A resident of a household."""

    READ_ONLY = ("id", "anonymised")

    household_id = UUID(required=True)
    full_name = Text("resident.full_name", load_default=None, allow_none=True)
    birth_year = Int(bounds=(vocab.NUMBERS["resident.birth_year"][0], vocab.current_year),
                     load_default=None, allow_none=True)
    sex = Text("vocabulary", load_default=None, allow_none=True, validate=OneOf(vocab.SEXES))
    phone = PhoneNumber(load_default=None, allow_none=True)
    consent = Nested(ConsentIn, required=True)


class ServiceLineIn(StrictSchema):
    """One (service, resident) line of a visit."""

    code = Text("service.code", required=True)
    resident_id = UUID(load_default=None, allow_none=True)
    result = Text("vocabulary", required=True, validate=OneOf(vocab.RESULTS))
    provider = Text("service.provider", load_default=None, allow_none=True)
    detail = Text("service.detail", load_default=None, allow_none=True)


class VisitData(StrictSchema):
    """A visit; once stored, only its member corrects it, as a new revision (docs/api.md)."""

    household_id = UUID(required=True)
    visited_at = Moment(required=True)
    location = Nested(LocationIn, load_default=None, allow_none=True)
    outcome = Text("vocabulary", required=True, validate=OneOf(vocab.OUTCOMES))
    notes = Text("visit.notes", load_default="", allow_none=True)
    services = List(Nested(ServiceLineIn), load_default=list,
                    validate=MaxItems(vocab.SERVICES_PER_VISIT))
    follow_up_on = Day(load_default=None, allow_none=True)
    # No default: a visit that does not send it hashes as before (a retry stays a `duplicate`).
    keep_open = List(UUID(), validate=MaxItems(vocab.KEEP_OPEN_PER_VISIT), metadata={
        "description": "the `visit_id`s of open follow-ups of the household that this visit does "
                       "not settle (it was about something else); others are ignored"})

    @validates_schema
    def _lines_and_follow_up(self, data, **kwargs):
        lines = data.get("services") or []
        keys = [(line["code"], line["resident_id"]) for line in lines]
        if len(keys) != len(set(keys)):
            raise ValidationError(Problem("repeated_line"), "services")
        follow_up, visited_at = data.get("follow_up_on"), data.get("visited_at")
        if follow_up and visited_at:
            day = vocab.local_day(visited_at)
            if follow_up < day:
                raise ValidationError(Problem("before_visit"), "follow_up_on")
            if follow_up > day + timedelta(days=vocab.FOLLOW_UP_MAX_DAYS):
                raise ValidationError(Problem("too_far_ahead"), "follow_up_on")

    @post_load
    def _notes_default(self, data, **kwargs):
        data["notes"] = data.get("notes") or ""
        return data


DATA_SCHEMAS = {"household": HouseholdData(), "resident": ResidentData(), "visit": VisitData()}


class ItemResultOut(Schema):
    """The outcome of one pushed item."""

    type = fields.Str(allow_none=True)  # null when the item was not an object
    id = fields.Str(allow_none=True)
    status = fields.Str()
    version = fields.Int(allow_none=True)
    errors = fields.Dict(keys=fields.Str(), values=fields.List(fields.Str()))
    codes = fields.Dict(keys=fields.Str(), values=fields.List(fields.Str()),
                        metadata={"description": "the fields of `errors` mapped to stable codes "
                                                 "(see docs/api.md)"})
    server = ServerCopyField(allow_none=True)


class PushOut(Schema):
    """Push results, one per item, in input order."""

    results = fields.List(fields.Nested(ItemResultOut))
    cursor = fields.Str()


class PullArgs(Schema):
    """Query arguments of a pull."""

    cursor = fields.Str(load_default=None, validate=validate.Length(max=512),
                        metadata={"description": "opaque: the `cursor` of the previous page"})
    limit = Int(bounds=(1, vocab.PULL_MAX_LIMIT), strict=False, load_default=500)


class ChangeOut(Schema):
    """One changed record in the caller's scope."""

    type = fields.Str()
    id = fields.Str()
    version = fields.Int()
    deleted = fields.Bool()
    data = RecordField()


class PullOut(Schema):
    """A page of changes and where to continue."""

    changes = fields.List(fields.Nested(ChangeOut))
    cursor = fields.Str()
    more = fields.Bool()
    remaining = fields.Int(metadata={
        "description": "about how many changes the later pages hold (0 when `more` is false); "
                       "for a progress bar, never for deciding whether to pull on"})
