"""The commune office console (``/office/``): the shell, sign-in and sign-out, overview, guide.

Pages of the other sections live in ``office_visits``, ``office_quality`` and
``office_baselines`` on this same blueprint. Every page is Vietnamese, server-rendered, with no
inline script or style (the Content-Security-Policy forbids them) and no external resource.
"""
from pathlib import Path

from flask import Blueprint, render_template

from server.vocab import LOCAL_TIMEZONE
from server.web import console_errors, console_pages, labels
from server.web.forms import EmptyForm
from server.web.session_auth import OFFICE_ROLES, current_office_principal, office_view

bp = Blueprint("office", __name__, url_prefix="/office")
STATIC_DIR = Path(__file__).resolve().parents[2] / "static" / "office"

NAV = [  # (endpoint, label, roles that see it)
    ("office.overview", "Tổng quan", OFFICE_ROLES),
    ("office.visits", "Lượt thăm", OFFICE_ROLES),
    ("office.flags", "Cảnh báo dữ liệu", OFFICE_ROLES),
    ("office.duplicates", "Hộ trùng", OFFICE_ROLES),
    ("office.baselines", "Số liệu nền", OFFICE_ROLES),
    ("office.approvals", "Duyệt số liệu tháng", OFFICE_ROLES),
    ("office.reports", "Báo cáo", OFFICE_ROLES),
    ("office.imports", "Nhập sổ hộ", ("commune_officer", "admin")),  # office_imports.py
    ("office.guide", "Hướng dẫn", OFFICE_ROLES),
]


@bp.context_processor
def _shell():
    me = current_office_principal(optional=True)
    nav = [(endpoint, label) for endpoint, label, roles in NAV if me and me.role in roles]
    return {"me": me, "nav": nav, "labels": labels, "logout_form": EmptyForm()}


@bp.app_template_filter("vn_time")
def _vn_time(moment):
    """``dd/mm/yyyy HH:MM`` in Vietnam's time."""
    return moment.astimezone(LOCAL_TIMEZONE).strftime("%d/%m/%Y %H:%M") if moment else ""


@bp.app_template_filter("vn_date")
def _vn_date(day):
    """``dd/mm/yyyy``."""
    return day.strftime("%d/%m/%Y") if day else ""


@bp.app_template_filter("vn_number")
def _vn_number(value):
    """Thousands separated by dots, as Vietnamese writes them."""
    return f"{value:,}".replace(",", ".") if value is not None else ""


console_errors.install(bp, "office", "office.login")
console_pages.install_headers(bp)
console_pages.install_static(bp, STATIC_DIR)
console_pages.install_sign_in(bp, OFFICE_ROLES, ("/office/", "office.overview"))


# --- overview and guide ---------------------------------------------------------------------

@bp.route("/guide")
@office_view()
def guide(me):
    """Hướng dẫn: installing the field app, working offline, and the review states."""
    return render_template("office/guide.html")
