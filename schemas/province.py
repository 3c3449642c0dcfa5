"""The province pull: its query and the rows it answers (JSON; CSV and XLSX hold the same)."""
from marshmallow import Schema, fields, validate

from schemas.coverage import COMMUNE_CODE, Figures


class ProvinceQuery(Schema):
    """A period, the level of the rows, the format and which figures (approved or live)."""

    level = fields.Str(load_default="commune",
                       validate=validate.OneOf(("province", "commune", "hamlet")),
                       metadata={"description": "One row for the province, per commune, or "
                                                "per hamlet."})
    from_ = fields.Date(data_key="from", required=True)
    to = fields.Date(required=True)
    format = fields.Str(load_default="json", validate=validate.OneOf(("json", "csv", "xlsx")))
    state = fields.Str(load_default="approved", validate=validate.OneOf(("approved", "live")),
                       metadata={"description": "`approved`: a commune's approved snapshot "
                                                "where one covers the period, else its live "
                                                "figures; `live`: the current figures."})
    province = fields.Str(validate=validate.Regexp(r"^\d{2}$", error="a 2-digit province code"),
                          metadata={"description": "Optional: must be the key's province."})
    commune = fields.Str(validate=COMMUNE_CODE,
                         metadata={"description": "Optional: only this commune of the "
                                                  "province."})


class ApprovalOut(Schema):
    """Whether the commune approved every month the period touches."""

    state = fields.Str(required=True, metadata={"description": "approved | open"})
    approved_at = fields.DateTime(allow_none=True)
    stale = fields.Bool(required=True, metadata={
        "description": "Approved, but the figures changed since (re-approval pending)."})


class ProvinceRow(Figures):
    """One unit: its official code and name, its commune's approval, and its figures."""

    code = fields.Str(required=True)
    name = fields.Str(required=True)
    commune_code = fields.Str(metadata={"description": "Hamlet rows: the hamlet's commune."})
    commune_name = fields.Str()
    communes_total = fields.Int(metadata={"description": "The province row: communes summed."})
    communes_approved = fields.Int()
    approval = fields.Nested(ApprovalOut, required=True)
    figures = fields.Str(required=True, metadata={
        "description": "approved (the approved snapshot) | live | mixed (province row)"})


class ProvinceUnit(Schema):
    """The key's province."""

    code = fields.Str(required=True)
    name = fields.Str(required=True)


class PeriodOut(Schema):
    """The period (local days, inclusive)."""

    from_ = fields.Date(data_key="from", attribute="from", required=True)
    to = fields.Date(required=True)


class ProvinceAggregatesOut(Schema):
    """The rows of one level; ``columns`` names the CSV/XLSX columns (dotted JSON paths)."""

    province = fields.Nested(ProvinceUnit, required=True)
    level = fields.Str(required=True)
    state = fields.Str(required=True)
    period = fields.Nested(PeriodOut, required=True)
    columns = fields.List(fields.Str(), required=True)
    rows = fields.List(fields.Nested(ProvinceRow), required=True)
