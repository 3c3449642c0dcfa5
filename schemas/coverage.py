"""Coverage: the query of a period and the per-hamlet figures it answers."""
from marshmallow import Schema, fields, validate

COMMUNE_CODE = validate.Regexp(r"^\d{5}$", error="a 5-digit commune code")


class CoverageQuery(Schema):
    """A commune and a period: ``from``/``to`` (local days), or a campaign's period."""

    commune = fields.Str(required=True, validate=COMMUNE_CODE)
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    campaign = fields.Int(validate=validate.Range(min=1, max=2**31 - 1))


class DailyQuery(CoverageQuery):
    """A commune, a period and one service."""

    service = fields.Str(required=True, validate=validate.Length(min=1, max=16))


class ServiceFigures(Schema):
    """What the team did (``supported``), what people had before, who has it now (adults)."""

    supported = fields.Int(required=True)
    already_had = fields.Int(required=True)
    has = fields.Int(required=True)


class TargetGap(Schema):
    """The target that applies to the period and how far the rate is below it."""

    target = fields.Float(required=True)
    due = fields.Date(required=True)
    gap = fields.Float(allow_none=True)


class Figures(Schema):
    """Counts, rates and gaps of a hamlet or of the commune."""

    households_total = fields.Int(required=True)
    households_registered = fields.Int(required=True)
    households_reached = fields.Int(required=True)
    visits = fields.Int(required=True)
    adults_total = fields.Int(required=True)
    services = fields.Dict(keys=fields.Str(), values=fields.Nested(ServiceFigures))
    rates = fields.Dict(keys=fields.Str(), values=fields.Float(allow_none=True))
    targets = fields.Dict(keys=fields.Str(), values=fields.Nested(TargetGap, allow_none=True))


class HamletFigures(Figures):
    """One hamlet's figures."""

    hamlet_id = fields.Int(required=True)
    code = fields.Str(required=True)
    name = fields.Str(required=True)


class CommuneFigures(Figures):
    """The commune's totals: sums of the hamlet rows returned."""

    code = fields.Str(required=True)
    name = fields.Str(required=True)


class Period(Schema):
    """The period the figures cover (local days, inclusive)."""

    from_ = fields.Date(data_key="from", attribute="from", required=True)
    to = fields.Date(required=True)


class CampaignOut(Schema):
    """A campaign: its period, services and target share of adults."""

    id = fields.Int(required=True)
    name = fields.Str(required=True)
    province_code = fields.Str(required=True)
    date_from = fields.Date(data_key="from", required=True)
    date_to = fields.Date(data_key="to", required=True)
    services = fields.List(fields.Str())
    target = fields.Float(allow_none=True)


class CoverageOut(Schema):
    """Per-hamlet coverage of a commune over a period."""

    commune = fields.Nested(CommuneFigures, required=True)
    hamlets = fields.List(fields.Nested(HamletFigures), required=True)
    period = fields.Nested(Period, required=True)
    campaign = fields.Nested(CampaignOut, allow_none=True)


class DayCounts(Schema):
    """``has`` at the day's end and ``supported`` since the period's start."""

    has = fields.Int(required=True)
    supported = fields.Int(required=True)


class Day(Schema):
    """One day of the cumulative series."""

    date = fields.Date(required=True)
    commune = fields.Nested(DayCounts, required=True)
    hamlets = fields.Dict(keys=fields.Str(), values=fields.Nested(DayCounts))


class DailyTarget(TargetGap):
    """The target of the service's indicator that applies to the period."""

    indicator = fields.Str(required=True)


class DailyOut(Schema):
    """A service's cumulative daily figures, for trend charts and campaign burn-up."""

    service = fields.Str(required=True)
    target = fields.Nested(DailyTarget, allow_none=True)
    days = fields.List(fields.Nested(Day), required=True)


class CampaignListOut(Schema):
    """The campaigns of the caller's province."""

    campaigns = fields.List(fields.Nested(CampaignOut), required=True)
