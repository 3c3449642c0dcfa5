"""The admin console's forms: field shapes and CSRF; the rules are the services' (which answer
with per-field messages that ``admin.show_errors`` places on these fields)."""
from datetime import date

from flask_wtf.file import FileField
from wtforms import (BooleanField, DateField, FloatField, HiddenField, IntegerField,
                     PasswordField, SelectField, SelectMultipleField, StringField, TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from server.models.types import utcnow
from server.vocab import HAMLET_KINDS, INT32_MAX, ROLES, SERVICE_UNITS, local_day
from server.web import admin_labels, labels
from server.web.forms import REQUIRED, VIETNAMESE, OfficeForm


class _Messages(type(VIETNAMESE)):
    MESSAGES = {**VIETNAMESE.MESSAGES,
                "Not a valid float value.": "Phải là một số (dùng dấu chấm cho phần thập phân)",
                "Not a valid integer value.": "Phải là số nguyên"}


MESSAGES = _Messages()


class AdminForm(OfficeForm):
    """A form of the admin console: Vietnamese messages, CSRF-protected."""

    class Meta:
        def get_translations(self, form):
            return MESSAGES


def _int_or_none(value):
    """A row id from a select, or None (beyond PostgreSQL's INTEGER is no id either)."""
    try:
        number = int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
    return number if number is not None and 1 <= number <= INT32_MAX else None


def _today():
    return local_day(utcnow())


def _lines(value):
    """Providers typed one per line or separated by commas."""
    return [part.strip() for line in (value or "").splitlines() for part in line.split(",")
            if part.strip()]


class Checkboxes(SelectMultipleField):
    """A multiple choice shown as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


KIND_CHOICES = [(k, labels.HAMLET_KINDS[k]) for k in HAMLET_KINDS]


# --- units ------------------------------------------------------------------------------------

class HamletEditForm(AdminForm):
    name = StringField("Tên ấp", validators=[DataRequired(REQUIRED), Length(max=120)])
    kind = SelectField("Loại", choices=KIND_CHOICES)
    valid_from = DateField("Hiệu lực từ ngày", validators=[InputRequired(REQUIRED)],
                           default=date(2025, 7, 1))


class HamletForm(HamletEditForm):
    code = StringField("Mã ấp", validators=[DataRequired(REQUIRED), Length(max=12)])


class CommuneForm(AdminForm):
    code = StringField("Mã xã", validators=[DataRequired(REQUIRED), Length(max=5)])
    name = StringField("Tên xã, phường", validators=[DataRequired(REQUIRED), Length(max=120)])
    kind = SelectField("Loại", choices=list(admin_labels.COMMUNE_KINDS.items()))
    valid_from = DateField("Hiệu lực từ ngày", validators=[InputRequired(REQUIRED)],
                           default=_today)


class CloseForm(AdminForm):
    valid_to = DateField("Hết hiệu lực từ ngày", validators=[InputRequired(REQUIRED)],
                         default=_today)


class BoundaryForm(AdminForm):
    boundary = FileField("Tệp ranh giới (GeoJSON)")


# --- teams ------------------------------------------------------------------------------------

class TeamForm(AdminForm):
    commune = SelectField("Xã", coerce=_int_or_none, validators=[InputRequired(REQUIRED)])
    name = StringField("Tên tổ", validators=[DataRequired(REQUIRED), Length(max=160)])


class TeamRenameForm(AdminForm):
    name = StringField("Tên tổ", validators=[DataRequired(REQUIRED), Length(max=160)])


class TeamHamletsForm(AdminForm):
    hamlets = Checkboxes("Ấp do tổ phụ trách", coerce=int, validate_choice=False)


# --- users ------------------------------------------------------------------------------------

class UserForm(AdminForm):
    username = StringField("Tên đăng nhập", validators=[DataRequired(REQUIRED), Length(max=80)])
    display_name = StringField("Họ và tên", validators=[DataRequired(REQUIRED), Length(max=160)])
    password = PasswordField("Mật khẩu ban đầu", validators=[DataRequired(REQUIRED),
                                                            Length(max=256)])
    role = SelectField("Vai trò", choices=[(r, labels.ROLES[r]) for r in ROLES])
    team = SelectField("Tổ (thành viên, tổ trưởng)", coerce=_int_or_none, validate_choice=False)
    commune = SelectField("Xã (cán bộ Phòng Văn hóa – Xã hội)", coerce=_int_or_none,
                          validate_choice=False)
    province = SelectField("Tỉnh (chuyên viên cấp tỉnh)", coerce=_int_or_none,
                           validate_choice=False)


class PasswordForm(AdminForm):
    password = PasswordField("Mật khẩu mới", validators=[DataRequired(REQUIRED), Length(max=256)])
    sign_out_devices = BooleanField("Đăng xuất khỏi mọi điện thoại", default=True)


class ReactivateForm(AdminForm):
    password = PasswordField("Mật khẩu mới", validators=[DataRequired(REQUIRED), Length(max=256)])


# --- catalogue --------------------------------------------------------------------------------

SKILL_CHOICES = [("", "—")] + [(s, admin_labels.SKILLS[s]) for s in admin_labels.SKILLS]


class ServiceEditForm(AdminForm):
    label = StringField("Tên dịch vụ", validators=[DataRequired(REQUIRED), Length(max=255)])
    skill = SelectField("Kỹ năng số cơ bản", choices=SKILL_CHOICES, default="")
    providers = TextAreaField("Nhà cung cấp (mỗi dòng một tên)")
    sort_order = IntegerField("Thứ tự hiển thị", validators=[Optional()])

    def provider_list(self):
        return _lines(self.providers.data)


class ServiceForm(ServiceEditForm):
    code = StringField("Mã", validators=[DataRequired(REQUIRED), Length(max=16)])
    unit = SelectField("Đối tượng",
                       choices=[(u, admin_labels.SERVICE_UNITS[u]) for u in SERVICE_UNITS])


# --- targets and campaigns --------------------------------------------------------------------

class TargetForm(AdminForm):
    province_code = SelectField("Tỉnh")
    indicator = SelectField("Chỉ tiêu")
    value = FloatField("Mức cần đạt (%)", validators=[InputRequired(REQUIRED)])
    due = DateField("Hạn", validators=[InputRequired(REQUIRED)])
    source = StringField("Căn cứ (văn bản)", validators=[Length(max=120)])


class CampaignForm(AdminForm):
    province_code = SelectField("Tỉnh")
    name = StringField("Tên chiến dịch", validators=[DataRequired(REQUIRED), Length(max=160)])
    date_from = DateField("Từ ngày", validators=[InputRequired(REQUIRED)])
    date_to = DateField("Đến ngày", validators=[InputRequired(REQUIRED)])
    services = Checkboxes("Dịch vụ của chiến dịch", validate_choice=False)
    target = FloatField("Mục tiêu (%)", validators=[Optional()])


# --- API keys ---------------------------------------------------------------------------------

class ApiKeyForm(AdminForm):
    province = SelectField("Tỉnh")
    label = StringField("Ghi chú (nơi dùng khóa)", validators=[Length(max=120)])
    once = HiddenField()  # a reload of the answer re-posts the form: one key per form shown
