"""The admin console (``/admin/``): the shell, sign-in and sign-out, and the first page.

Pages for role ``admin`` only, on the office console's cookie sessions, CSRF check, forms and
layout (server/web/session_auth.py, server/templates/office/base.html). The sections live in
``admin_units``, ``admin_teams``, ``admin_users``, ``admin_catalogue``, ``admin_targets`` and
``admin_keys`` on this blueprint; their rules are in server/services (admin_*, catalogue,
api_keys). Every change is audit-logged by the service that makes it.
"""

from flask import Blueprint, render_template, request

from server.services import admin_overview
from server.vocab import Role
from server.web import admin_labels, console_errors, console_pages, labels
from server.web.forms import EmptyForm
from server.web.session_auth import current_office_principal, office_view

bp = Blueprint("admin", __name__, url_prefix="/admin")
ADMIN = Role.ADMIN.value
admin_view = office_view(ADMIN)  # anonymous: the sign-in page; another role: 403

NAV = [
    ("admin.home", "Tổng quan"),
    ("admin.units", "Đơn vị hành chính"),
    ("admin.teams", "Tổ CNSCĐ"),
    ("admin.users", "Tài khoản"),
    ("admin.services", "Danh mục dịch vụ"),
    ("admin.targets", "Chỉ tiêu"),
    ("admin.campaigns", "Chiến dịch"),
    ("admin.keys", "Khóa API"),
    ("office.imports", "Nhập sổ hộ"),  # the registry import, an office page open to admins
]
CONSOLE_NAME = "Quản trị hệ thống"


@bp.context_processor
def _shell():
    me = current_office_principal(optional=True)
    if me is not None and me.role != ADMIN:
        me = None  # a signed-in officer sees no admin navigation on the admin's pages
    return {"me": me, "nav": NAV if me else [], "labels": labels, "admin_labels": admin_labels,
            "logout_form": EmptyForm(),
            "logout_endpoint": "admin.logout", "console_name": CONSOLE_NAME}


def show_errors(form, err):
    """Put a service's refusal (``Invalid.fields``) next to the form fields it is about."""
    for name, messages in (err.fields or {}).items():
        field = form._fields.get(name)
        if field is not None:
            field.errors = [*field.errors, *messages]
        else:
            form.form_errors.extend(messages)
    if not err.fields:
        form.form_errors.append(err.message)


def int_arg(name):
    """An integer query argument, or None."""
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and len(value) < 10 else None


console_errors.install(bp, "admin", "admin.login")
console_pages.install_headers(bp)
console_pages.install_sign_in(bp, (ADMIN,), ("/admin/", "admin.home"), session_kind="admin")


@bp.route("/")
@admin_view
def home(me):
    """Tổng quan: what exists, and the latest admin changes."""
    return render_template("admin/home.html", counts=admin_overview.counts(),
                           changes=admin_overview.recent_changes())
