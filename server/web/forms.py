"""The office console's forms (Flask-WTF): validation at the edge, CSRF on every POST."""
import re

from flask_wtf import FlaskForm
from marshmallow import ValidationError
from wtforms import (DateField, FieldList, Form, FormField, HiddenField, IntegerField,
                     PasswordField, RadioField, SelectField, StringField, TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.validators import ValidationError as FieldError

from schemas.fields import clean_text
from server.services.baselines import MAX_BASELINE
from server.services.quality import FLAG_KINDS
from server.services.review import DECISIONS
from server.vocab import REVIEW_STATES, WHITESPACE
from server.web import labels

REQUIRED = "Bắt buộc nhập"
COMMENT_MAX = 1000


class _Vietnamese:
    """WTForms' own messages (wrong number, date or choice; too long) in Vietnamese."""

    MESSAGES = {
        "Not a valid integer value.": "Phải là số nguyên không âm",
        "Not a valid date value.": "Ngày không hợp lệ",
        "Not a valid choice.": "Lựa chọn không hợp lệ",
        "This field is required.": REQUIRED,
        "Field cannot be longer than %(max)d character.": "Không được dài quá %(max)d ký tự",
        "Field cannot be longer than %(max)d characters.": "Không được dài quá %(max)d ký tự",
    }

    def gettext(self, string):
        return self.MESSAGES.get(string, string)

    def ngettext(self, singular, plural, n):
        return self.gettext(singular if n == 1 else plural)


VIETNAMESE = _Vietnamese()


class OfficeForm(FlaskForm):
    """A form of the office console: Vietnamese messages, CSRF-protected."""

    class Meta:
        def get_translations(self, form):
            return VIETNAMESE


def _int_or_none(value):
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


class LoginForm(OfficeForm):
    """Sign in with the same account as the field app."""

    username = StringField("Tên đăng nhập", validators=[DataRequired(REQUIRED), Length(max=80)])
    password = PasswordField("Mật khẩu", validators=[DataRequired(REQUIRED), Length(max=256)])
    next = HiddenField()


class EmptyForm(OfficeForm):
    """A form with only its CSRF token (sign out)."""


class VisitFilterForm(OfficeForm):
    """The visits list's filters (a GET form: no CSRF token, nothing changes)."""

    class Meta:
        csrf = False

    hamlet = SelectField("Ấp", coerce=_int_or_none, validate_choice=True)
    team = SelectField("Tổ", coerce=_int_or_none, validate_choice=True)
    member = SelectField("Thành viên", coerce=_int_or_none, validate_choice=True)
    first = DateField("Từ ngày", validators=[Optional()],
                      render_kw={"placeholder": "yyyy-mm-dd"})
    last = DateField("Đến ngày", validators=[Optional()])
    outcome = SelectField("Kết quả", default="",
                          choices=[("", "Tất cả")] + list(labels.OUTCOMES.items()))
    service = SelectField("Dịch vụ", default="")
    review_state = SelectField("Trạng thái duyệt", default="",
                               choices=[("", "Tất cả")] + [(s, labels.REVIEW_STATES[s])
                                                           for s in REVIEW_STATES])
    flag = SelectField("Cảnh báo", default="", choices=[("", "Tất cả")] + [(f, labels.FLAGS[f])
                                                              for f in FLAG_KINDS])

    def set_choices(self, hamlets, teams, members, services):
        """Offer only what the caller's scope holds."""
        everything = [("", "Tất cả")]
        self.hamlet.choices = everything + [(h.id, h.name) for h in hamlets]
        self.team.choices = everything + [(t.id, t.name) for t in teams]
        self.member.choices = everything + [(u.id, u.display_name) for u in members]
        self.service.choices = [("", "Tất cả")] + [(s.code, s.label) for s in services]

    def validate_last(self, field):
        if field.data and self.first.data and field.data < self.first.data:
            raise FieldError("Ngày kết thúc phải sau ngày bắt đầu")

    def filters(self):
        """The valid filters as keyword arguments of ``review.VisitFilter``."""
        return {"hamlet_id": self.hamlet.data, "team_id": self.team.data,
                "member_id": self.member.data, "first": self.first.data, "last": self.last.data,
                "outcome": self.outcome.data or None, "service": self.service.data or None,
                "review_state": self.review_state.data or None, "flag": self.flag.data or None}


class PeriodForm(OfficeForm):
    """A day range (GET)."""

    class Meta:
        csrf = False

    first = DateField("Từ ngày", validators=[Optional()])
    last = DateField("Đến ngày", validators=[Optional()])


class ReviewForm(OfficeForm):
    """A review decision on one visit."""

    state = RadioField("Quyết định", choices=[(s, labels.REVIEW_STATES[s]) for s in DECISIONS],
                       validators=[InputRequired("Hãy chọn một quyết định")])
    comment = TextAreaField("Nhận xét gửi thành viên", validators=[Length(max=COMMENT_MAX)])
    expected_state = HiddenField()

    def validate_comment(self, field):
        if not re.sub(WHITESPACE, "", field.data or ""):
            field.data = ""  # only whitespace: no comment
        try:
            field.data = clean_text(field.data, "text", COMMENT_MAX)
        except ValidationError:
            raise FieldError("Nhận xét có ký tự không hợp lệ") from None
        if self.state.data in ("has_issues", "rejected") and not field.data:
            raise FieldError("Cần ghi nhận xét để thành viên biết phải bổ sung gì hoặc vì sao "
                             "không chấp nhận")


class MergeForm(OfficeForm):
    """Merge ``other`` into ``survivor`` (both household ids)."""

    survivor = HiddenField(validators=[DataRequired()])
    other = HiddenField(validators=[DataRequired()])


class BaselineRow(Form):
    """One hamlet's baselines."""

    class Meta:
        def get_translations(self, form):
            return VIETNAMESE

    hamlet_id = HiddenField()
    households_total = IntegerField(
        "Số hộ", validators=[InputRequired(REQUIRED),
                             NumberRange(0, MAX_BASELINE, "Phải là số nguyên không âm")])
    adults_total = IntegerField(
        "Số người từ 18 tuổi", validators=[InputRequired(REQUIRED),
                                           NumberRange(0, MAX_BASELINE,
                                                       "Phải là số nguyên không âm")])


class BaselinesForm(OfficeForm):
    """Every hamlet's baselines in one form."""

    rows = FieldList(FormField(BaselineRow))

    def figures(self):
        """``{hamlet_id: (households_total, adults_total)}`` of the submitted rows."""
        return {int(row.hamlet_id.data): (row.households_total.data, row.adults_total.data)
                for row in self.rows if _int_or_none(row.hamlet_id.data) is not None}
