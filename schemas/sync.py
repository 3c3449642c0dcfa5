"""Push and pull: the envelope, the per-type item data, and the results."""
import phonenumbers
from marshmallow import (Schema, ValidationError, fields, post_load, pre_load, validate,
                         validates, validates_schema)

from schemas.geo import LocationIn
from schemas.records import RecordField, ServerCopyField

PHONE_REGION = "VN"
ITEM_TYPES = ("household", "resident", "visit")


class PhoneNumber(fields.Str):
    """A phone number, validated with libphonenumber and loaded as E.164."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not text:
            return None
        try:
            number = phonenumbers.parse(text, PHONE_REGION)
        except phonenumbers.NumberParseException as err:
            raise ValidationError("not a phone number") from err
        if not phonenumbers.is_valid_number(number):
            raise ValidationError("not a valid phone number")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class PushIn(Schema):
    """The push envelope; items are validated one by one so a bad one loses nothing else."""

    device_id = fields.Str(required=True, validate=validate.Length(min=1, max=120))
    items = fields.List(fields.Raw(), required=True)


class ItemIn(Schema):
    """One pushed record."""

    type = fields.Str(required=True, validate=validate.OneOf(ITEM_TYPES))
    id = fields.UUID(required=True)
    base_version = fields.Int(load_default=None, allow_none=True, validate=validate.Range(min=1))
    data = fields.Dict(required=True)


class EchoTolerant(Schema):
    """Accepts and drops the read-only fields pull returns, so clients may send pulled data back."""

    READ_ONLY = ()

    @pre_load
    def _drop_read_only(self, data, **kwargs):
        if isinstance(data, dict):
            data = {k: v for k, v in data.items() if k not in self.READ_ONLY}
        return data


class HouseholdData(EchoTolerant):
    """A household as a phone registers or edits it."""

    READ_ONLY = ("id",)

    hamlet_id = fields.Int(required=True, strict=True)
    address = fields.Str(load_default="", validate=validate.Length(max=255))
    head_name = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=160))
    members_count = fields.Int(load_default=None, allow_none=True, strict=True,
                               validate=validate.Range(min=0, max=60))
    adults_count = fields.Int(load_default=None, allow_none=True, strict=True,
                              validate=validate.Range(min=0, max=60))
    phone = PhoneNumber(load_default=None, allow_none=True)
    location = fields.Nested(LocationIn, load_default=None, allow_none=True)

    @validates_schema
    def _adults_within_members(self, data, **kwargs):
        members, adults = data.get("members_count"), data.get("adults_count")
        if members is not None and adults is not None and adults > members:
            raise ValidationError("cannot exceed members_count", "adults_count")


class ConsentIn(EchoTolerant):
    """A resident's consent; ``given: false`` on an edit is a withdrawal."""

    READ_ONLY = ("withdrawn_at",)

    given = fields.Bool(required=True, truthy={True}, falsy={False})  # no "yes"/1 guessing
    purposes = fields.List(fields.Str(validate=validate.OneOf(("support", "contact", "photo"))),
                           load_default=list)
    at = fields.AwareDateTime(required=True)


class ResidentData(EchoTolerant):
    """A resident of a household."""

    READ_ONLY = ("id", "anonymised")

    household_id = fields.UUID(required=True)
    full_name = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=160))
    birth_year = fields.Int(load_default=None, allow_none=True, strict=True,
                            validate=validate.Range(min=1900, max=2100))
    sex = fields.Str(load_default=None, allow_none=True, validate=validate.OneOf(("M", "F", "X")))
    phone = PhoneNumber(load_default=None, allow_none=True)
    consent = fields.Nested(ConsentIn, required=True)


class ServiceLineIn(Schema):
    """One (service, resident) line of a visit."""

    code = fields.Str(required=True, validate=validate.Length(min=1, max=16))
    resident_id = fields.UUID(load_default=None, allow_none=True)
    result = fields.Str(required=True, validate=validate.OneOf(
        ("done", "already_had", "in_progress", "declined", "not_eligible", "failed")))
    provider = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=40))
    detail = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=255))


class VisitData(Schema):
    """A visit: append-only once stored."""

    household_id = fields.UUID(required=True)
    visited_at = fields.AwareDateTime(required=True)
    location = fields.Nested(LocationIn, load_default=None, allow_none=True)
    outcome = fields.Str(required=True, validate=validate.OneOf(
        ("completed", "partial", "not_home", "refused")))
    notes = fields.Str(load_default="", allow_none=True, validate=validate.Length(max=4000))
    services = fields.List(fields.Nested(ServiceLineIn), load_default=list,
                           validate=validate.Length(max=200))
    follow_up_on = fields.Date(load_default=None, allow_none=True)

    @validates("services")
    def _no_repeated_lines(self, lines, **kwargs):
        keys = [(line["code"], line["resident_id"]) for line in lines]
        if len(keys) != len(set(keys)):
            raise ValidationError("a service is listed twice for the same resident")

    @post_load
    def _notes_default(self, data, **kwargs):
        data["notes"] = data.get("notes") or ""
        return data


DATA_SCHEMAS = {"household": HouseholdData(), "resident": ResidentData(), "visit": VisitData()}


class ItemResultOut(Schema):
    """The outcome of one pushed item."""

    type = fields.Str()
    id = fields.Str()
    status = fields.Str()
    version = fields.Int(allow_none=True)
    errors = fields.Dict(keys=fields.Str(), values=fields.Raw())
    server = ServerCopyField(allow_none=True)


class PushOut(Schema):
    """Push results, one per item, in input order."""

    results = fields.List(fields.Nested(ItemResultOut))
    cursor = fields.Str()


class PullArgs(Schema):
    """Query arguments of a pull."""

    cursor = fields.Str(load_default=None)
    limit = fields.Int(load_default=500, validate=validate.Range(min=1, max=1000))


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
