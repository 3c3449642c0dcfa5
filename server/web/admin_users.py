"""Tài khoản: find users, create one with its role's units, reset a password, lock or unlock."""
from flask import flash, redirect, render_template, request, url_for

from server.errors import Invalid
from server.services import admin_units, admin_users
from server.vocab import ROLES
from server.web.admin import admin_view, bp, int_arg, show_errors
from server.web.admin_forms import PasswordForm, ReactivateForm, UserForm
from server.web.forms import EmptyForm


@bp.route("/users", endpoint="users")
@admin_view
def users_page(me):
    """Users matching a search, a role and a commune, a page at a time."""
    # Printable characters only: PostgreSQL refuses NUL in text.
    search = "".join(c for c in request.args.get("q", "")[:80] if c.isprintable()).strip()
    role = request.args.get("role") if request.args.get("role") in ROLES else None
    commune = int_arg("commune")
    page = max(int_arg("page") or 1, 1)
    rows, total = admin_users.users(search, role, commune, page)
    pages = max((total + admin_users.PAGE_SIZE - 1) // admin_users.PAGE_SIZE, 1)
    return render_template("admin/users.html", users=rows, total=total, page=page, pages=pages,
                           search=search, role=role, commune=commune,
                           communes=admin_units.open_communes(), roles=ROLES)


def _choices(form, commune_id=None):
    form.team.choices = [(None, "—")] + [(t.id, f"{c.name} · {t.name}")
                                         for t, c in admin_users.teams_for_choice(commune_id)]
    form.commune.choices = [(None, "—")] + [(c.id, f"{c.code} · {c.name}")
                                            for c in admin_units.open_communes()]
    form.province.choices = [(None, "—")] + [(p.id, f"{p.code} · {p.name}")
                                             for p in admin_units.provinces()
                                             if p.valid_to is None]
    return form


@bp.route("/users/new", methods=["GET", "POST"], endpoint="new_user")
@admin_view
def new_user(me):
    """Create a user: member and team lead need a team, an officer a commune, an analyst a
    province; an admin none."""
    form = UserForm()
    if request.method == "GET" and int_arg("team") is not None:  # from a team's page
        form.team.data, form.role.data = int_arg("team"), "member"
    # ?commune= keeps the team list to one commune's (a province has thousands of teams).
    _choices(form, int_arg("commune"))
    if form.validate_on_submit():
        try:
            user = admin_users.create_user(
                me, form.username.data, form.display_name.data, form.password.data,
                form.role.data, province_id=form.province.data, commune_id=form.commune.data,
                team_id=form.team.data)
        except Invalid as err:
            show_errors(form, err)
        else:
            flash(f"Đã tạo tài khoản {user.username}. Hãy báo mật khẩu ban đầu cho người dùng "
                  "qua kênh riêng.")
            return redirect(url_for("admin.user", user_id=user.id))
    status = 422 if request.method == "POST" else 200
    return render_template("admin/user_new.html", form=form, commune=int_arg("commune"),
                           communes=admin_units.open_communes()), status


def _user_page(user, password=None, reactivate=None, lock=None, status=200):
    return render_template(
        "admin/user.html", user=user, tokens=admin_users.live_tokens(user.id),
        password=password or PasswordForm(), reactivate=reactivate or ReactivateForm(),
        lock=lock or EmptyForm()), status


@bp.route("/users/<int:user_id>", endpoint="user")
@admin_view
def user_page(me, user_id):
    """A user: role, units, phones signed in, and the password and lock forms."""
    return _user_page(admin_users.user(user_id))


@bp.route("/users/<int:user_id>/password", methods=["POST"], endpoint="reset_password")
@admin_view
def reset_password(me, user_id):
    """Set a new password (ends the user's browser sessions; phones too when ticked)."""
    user = admin_users.user(user_id)
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            revoked = admin_users.reset_password(me, user.id, form.password.data,
                                                 form.sign_out_devices.data)
        except Invalid as err:
            show_errors(form, err)
        else:
            flash("Đã đặt lại mật khẩu." + (f" Đã đăng xuất {revoked} điện thoại." if revoked
                                             else ""))
            return redirect(url_for("admin.user", user_id=user.id))
    return _user_page(user, password=form, status=422)


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"], endpoint="deactivate_user")
@admin_view
def deactivate_user(me, user_id):
    """Lock the account: every phone and browser session of it stops at once."""
    user = admin_users.user(user_id)
    form = EmptyForm()
    if form.validate_on_submit():
        try:
            revoked = admin_users.deactivate(me, user.id)
        except Invalid as err:
            show_errors(form, err)
        else:
            flash(f"Đã khóa tài khoản {user.username}; {revoked} điện thoại đã bị đăng xuất.")
            return redirect(url_for("admin.user", user_id=user.id))
    return _user_page(user, lock=form, status=422)


@bp.route("/users/<int:user_id>/reactivate", methods=["POST"], endpoint="reactivate_user")
@admin_view
def reactivate_user(me, user_id):
    """Unlock the account with a new password."""
    user = admin_users.user(user_id)
    form = ReactivateForm()
    if form.validate_on_submit():
        try:
            admin_users.reactivate(me, user.id, form.password.data)
        except Invalid as err:
            show_errors(form, err)
        else:
            flash(f"Đã mở lại tài khoản {user.username} với mật khẩu mới.")
            return redirect(url_for("admin.user", user_id=user.id))
    return _user_page(user, reactivate=form, status=422)
