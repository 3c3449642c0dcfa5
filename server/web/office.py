"""The commune office console (``/office/``): the shell, sign-in and sign-out, overview, guide.

Pages of the other sections live in ``office_visits``, ``office_quality`` and
``office_baselines`` on this same blueprint. Every page is Vietnamese, server-rendered, with no
inline script or style (the Content-Security-Policy forbids them) and no external resource.
"""
from pathlib import Path

from flask import (Blueprint, redirect, render_template, request,
                   send_from_directory, url_for)

from server import login_limits
from server.extensions import db
from server.services import audit
from server.vocab import LOCAL_TIMEZONE
from server.web import console_errors, labels
from server.web.forms import EmptyForm, LoginForm
from server.web.session_auth import (OFFICE_ROLES, authenticate, current_office_principal,
                                     forget_csrf_token, office_view, safe_next, sign_in)

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


@bp.after_request
def _headers(response):
    if request.endpoint != "office.static_file":
        # Pages and photos hold personal data: never kept by a shared office computer's cache.
        response.headers["Cache-Control"] = "no-store"
    # The forms' CSRF check over HTTPS compares the Referer with the host; send it, same-origin.
    response.headers["Referrer-Policy"] = "same-origin"
    return response


console_errors.install(bp, "office", "office.login")


# --- static files ---------------------------------------------------------------------------

@bp.route("/static/<path:filename>")
def static_file(filename):
    """The console's stylesheet, script and vendored files."""
    response = send_from_directory(STATIC_DIR, filename, max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response


# --- sign in and out ------------------------------------------------------------------------

@bp.route("/login", methods=["GET", "POST"])
@login_limits.limited  # the same failed-login budget as the API's token login
def login():
    """Sign in with a field-app account; only commune officers and team leads get in."""
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        user = authenticate(form.username.data, form.password.data)
        if user is None:
            login_limits.failed()
            form.password.errors.append("Sai tên đăng nhập hoặc mật khẩu")
        elif user.role not in OFFICE_ROLES:
            return render_template("office/refused.html", role=user.role), 403
        else:
            sign_in(user)
            return redirect(safe_next(form.next.data))
    return render_template("office/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    """Sign out (a POST with the CSRF token, so another site cannot sign anyone out)."""
    from flask import session

    me = current_office_principal(optional=True)
    if me is not None:
        audit.record(me.actor, "logout", "session", "office", user_id=me.user.id)
        db.session.commit()
    session.clear()
    forget_csrf_token()
    return redirect(url_for("office.login"))


# --- overview and guide ---------------------------------------------------------------------

@bp.route("/guide")
@office_view()
def guide(me):
    """Hướng dẫn: installing the field app, working offline, and the review states."""
    return render_template("office/guide.html")
