"""The rules document (``GET /api/v1/rules``): vocabularies and limits for client-side checks."""
from marshmallow import Schema, fields


class RulesOut(Schema):
    """What a value must be for the server to accept it; see server/vocab.py."""

    version = fields.Str(metadata={"description": "changes whenever any rule changes"})
    vocab = fields.Dict(keys=fields.Str(), values=fields.List(fields.Str()))
    text = fields.Dict(metadata={"description": "field → {kind, max}"})
    text_kinds = fields.Dict(metadata={
        "description": "kind → {forbidden_categories (Unicode general categories), allowed, "
                       "single_line}"})
    bidi_controls = fields.Str(metadata={"description": "characters refused in any text"})
    numbers = fields.Dict(metadata={"description": "field → {min, max}"})
    phone = fields.Dict(metadata={"description": "{region, pattern, separators}"})
    dates = fields.Dict()
    push = fields.Dict()
    pull = fields.Dict()
    photo = fields.Dict()
    error_codes = fields.Dict(keys=fields.Str(), values=fields.Str(),
                              metadata={"description": "every code `codes` may carry"})
