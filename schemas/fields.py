"""Fields and validators whose every error carries a stable code (``server.vocab.Problem``).

Untrusted input meets these first: text is NFC-normalised and refused when it holds control,
invisible or unpaired characters; numbers are bounded to what the columns can hold; times are
bounded to the programme's life. The limits come from ``server.vocab`` (the PWA gets the same
ones from ``GET /api/v1/rules``).
"""
import re
import unicodedata
from datetime import datetime, timedelta, timezone

import phonenumbers
from marshmallow import Schema, ValidationError, fields, validate

from server import vocab
from server.vocab import Problem

# marshmallow's error keys, per meaning; anything unlisted is "invalid".
_KEY_CODES = {
    "required": "required", "null": "null", "invalid": "wrong_type", "invalid_utf8": "wrong_type",
    "too_large": "out_of_range", "special": "out_of_range", "invalid_uuid": "not_uuid",
    "format": "not_datetime", "invalid_awareness": "not_datetime", "type": "not_object",
    "empty": "too_short",
}


class Coded:
    """Mixin for marshmallow fields: errors from ``error_messages`` keep a code."""

    def make_error(self, key, **kwargs):
        """The field's usual error, with the message wrapped as a coded ``Problem``."""
        err = super().make_error(key, **kwargs)
        code = _KEY_CODES.get(key, "invalid")
        if isinstance(self, fields.Date) and code == "not_datetime":
            code = "not_date"
        return ValidationError([m if hasattr(m, "code") else Problem(code, str(m))
                                for m in err.messages])


class StrictSchema(Schema):
    """A schema whose own errors (unknown field, not an object) carry codes too."""

    error_messages = {
        "unknown": Problem("unknown_field", "unknown field"),
        "type": Problem("not_object", "must be an object"),
    }


class Bounded(validate.Range):
    """``low <= value <= high`` (``high`` may be a callable: the current year moves); apispec
    documents it as ``minimum``/``maximum``."""

    def __init__(self, low=None, high=None):
        self._high = high
        super().__init__(min=low, max=high)

    @property
    def max(self):
        return self._high() if callable(self._high) else self._high

    @max.setter
    def max(self, value):
        self._high = value

    def _format_error(self, value, message):
        return Problem("out_of_range", super()._format_error(value, message))


class OneOf(validate.OneOf):
    """One of ``choices`` (documented as an ``enum``)."""

    def _format_error(self, value):
        return Problem("not_allowed", f"must be one of: {', '.join(map(str, self.choices))}")


class MaxItems(validate.Length):
    """A list of at most ``limit`` entries (documented as ``maxItems``)."""

    def __init__(self, limit):
        super().__init__(max=limit)

    def _format_error(self, value, message):
        return Problem("too_long", f"at most {self.max} entries")


class Int(Coded, fields.Integer):
    """An integer within ``bounds`` (default: 32-bit); in JSON bodies strict (no "4", 4.0, true),
    in query strings (``strict=False``) parsed from text."""

    def __init__(self, bounds=(vocab.INT32_MAX * -1 - 1, vocab.INT32_MAX), strict=True, **kwargs):
        super().__init__(strict=strict, validate=Bounded(*bounds), **kwargs)

    def _validated(self, value):
        if isinstance(value, bool):
            raise self.make_error("invalid")
        return super()._validated(value)


class Float(Coded, fields.Float):
    """A finite number (JSON ``1e400`` parses as infinity) within ``bounds``."""

    def __init__(self, bounds=(None, None), **kwargs):
        super().__init__(allow_nan=False, validate=Bounded(*bounds), **kwargs)

    def _validated(self, value):
        if isinstance(value, (bool, str)):
            raise self.make_error("invalid")
        return super()._validated(value)


class Bool(Coded, fields.Boolean):
    """``true`` or ``false`` only: no "yes", no 1."""

    def __init__(self, **kwargs):
        super().__init__(truthy={True}, falsy={False}, **kwargs)


class UUID(Coded, fields.UUID):
    """A UUID string."""


class Dict(Coded, fields.Dict):
    """A JSON object."""


class Raw(Coded, fields.Raw):
    """Anything; checked later."""


class List(Coded, fields.List):
    """A JSON array."""


class Nested(Coded, fields.Nested):
    """A nested object."""


# Letters, digits (``\w``: never a C* category) and common punctuation: a text made only of
# these has no character to refuse, and most names, addresses and notes are such texts — the
# loop over every character's category was a tenth of a push's time.
_PLAIN = re.compile(r"[\w ,.\-/()'\"#&:;!?+%@*]*")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _bad_character(text, kind):
    if _PLAIN.fullmatch(text):
        return None
    rules = vocab.TEXT_KINDS[kind]
    forbidden, allowed = set(rules["forbidden_categories"]), set(rules["allowed"])
    for char in text:
        if char in vocab.BIDI_CONTROLS:
            return char
        if char not in allowed and unicodedata.category(char) in forbidden:
            return char
    return None


_WHITESPACE = re.compile(vocab.WHITESPACE)
_ENDS = re.compile(f"^{vocab.WHITESPACE}|{vocab.WHITESPACE}$")


def clean_text(value, kind, max_length):
    """``value`` NFC-normalised and tidied, or ValidationError with a code.

    The steps, in the order the PWA repeats them (static/app/rules.js): unpaired surrogates are
    refused; NFC; single-line kinds turn every run of whitespace into one space, multi-line ones
    keep lines; the ends are trimmed; a character of a forbidden category is refused; a value that
    was not empty but is now is ``blank``; length counts code points.
    """
    if not isinstance(value, str):
        raise ValidationError(Problem("wrong_type", "must be a string"))
    # Lone surrogates come from JSON "\ud800" escapes; NFC would choke on them.
    if _SURROGATE.search(value):
        raise ValidationError(Problem("bad_characters", "holds an unpaired surrogate"))
    text = unicodedata.normalize("NFC", value.replace("\r\n", "\n"))
    if vocab.TEXT_KINDS[kind]["single_line"]:
        text = _WHITESPACE.sub(" ", text)
    text = _ENDS.sub("", text)
    bad = _bad_character(text, kind)
    if bad is not None:
        raise ValidationError(Problem(
            "bad_characters", f"holds a control or invisible character (U+{ord(bad):04X})"))
    if value and not text:
        raise ValidationError(Problem("blank", "is only whitespace"))
    if len(text) > max_length:
        raise ValidationError(Problem("too_long", f"longer than {max_length} characters"))
    return text


class _Documented(validate.Length):
    """A length bound apispec reads; the check itself is ``clean_text``'s (an empty optional
    text loads as None, which has no length)."""

    def __call__(self, value):
        return value


class Text(Coded, fields.String):
    """Text of one of ``server.vocab.TEXT``'s fields, cleaned by ``clean_text``.

    An empty value loads as ``None`` when the field allows null, as ``""`` when it is optional,
    and is ``required`` otherwise.
    """

    def __init__(self, rule, **kwargs):
        self.kind, self.max_length = vocab.TEXT[rule]
        # Never fails (clean_text already refused longer text): it documents maxLength.
        kwargs["validate"] = [_Documented(max=self.max_length),
                              *([kwargs["validate"]] if "validate" in kwargs else [])]
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = clean_text(value, self.kind, self.max_length)
        if not text:
            if self.allow_none:
                return None
            if self.required:
                raise self.make_error("required")
        return text


class Secret(Coded, fields.String):
    """A password: compared, never shown, so any characters except NUL and unpaired surrogates
    (which no hash function can encode)."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text or any("\ud800" <= char <= "\udfff" for char in text):
            raise ValidationError(Problem("bad_characters"))
        limit = vocab.TEXT["auth.password"][1]
        if not 1 <= len(text) <= limit:
            raise ValidationError(Problem("out_of_range", f"1 to {limit} characters"))
        return text


class PhoneNumber(Coded, fields.String):
    """A Vietnamese phone number (the PWA's pattern, then libphonenumber), loaded as E.164."""

    _separators = re.compile(vocab.PHONE_SEPARATORS)
    _pattern = re.compile(vocab.PHONE_PATTERN)

    def _deserialize(self, value, attr, data, **kwargs):
        text = clean_text(value, "line", 32)
        if not text:
            return None
        digits = self._separators.sub("", text)
        if not self._pattern.match(digits):
            raise ValidationError(Problem("invalid_phone"))
        try:
            number = phonenumbers.parse(digits, vocab.PHONE_REGION)
        except phonenumbers.NumberParseException:
            raise ValidationError(Problem("invalid_phone")) from None
        if not phonenumbers.is_valid_number(number):
            raise ValidationError(Problem("invalid_phone"))
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _latest_allowed():
    return datetime.now(timezone.utc) + timedelta(minutes=vocab.CLOCK_SKEW_MINUTES)


class Moment(Coded, fields.AwareDateTime):
    """A time with an offset, between the programme's start and now (plus clock skew)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise self.make_error("invalid", obj_type=self.OBJ_TYPE)
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            utc = moment.astimezone(timezone.utc)
        except (OverflowError, ValueError):  # year 1 or 9999 with an offset
            raise ValidationError(Problem("out_of_range", "out of range")) from None
        if utc > _latest_allowed():
            raise ValidationError(Problem("in_future"))
        if utc.date() < vocab.EARLIEST_DATE:
            raise ValidationError(Problem("too_old"))
        return moment


class Day(Coded, fields.Date):
    """A calendar day; its relation to other fields is checked by the schema."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise self.make_error("invalid", obj_type=self.OBJ_TYPE)
        day = super()._deserialize(value, attr, data, **kwargs)
        if day < vocab.EARLIEST_DATE:
            raise ValidationError(Problem("too_old"))
        return day
