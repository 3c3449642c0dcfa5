"""What every console blueprint (office, province, admin) shares: its response headers, its
static files, and signing in and out with the field accounts under one failed-login budget."""
from flask import redirect, render_template, request, send_from_directory, session, url_for

from server import login_limits
from server.extensions import db
from server.services import audit
from server.web.forms import LoginForm
from server.web.session_auth import (authenticate, current_office_principal, forget_csrf_token,
                                     safe_next, sign_in)


def install_headers(bp):
    """Pages and photos hold personal data: never kept by a shared office computer's cache
    (the console's own static files excepted)."""
    static = f"{bp.name}.static_file"

    @bp.after_request
    def _headers(response):
        if request.endpoint != static:
            response.headers["Cache-Control"] = "no-store"
        # The forms' CSRF check over HTTPS compares the Referer with the host; send it, same-origin.
        response.headers["Referrer-Policy"] = "same-origin"
        return response


def install_static(bp, directory):
    """``/static/<file>``: the console's stylesheet, scripts and vendored files, revalidated."""
    @bp.route("/static/<path:filename>", endpoint="static_file")
    def static_file(filename):
        response = send_from_directory(directory, filename, max_age=0)
        response.headers["Cache-Control"] = "no-cache"
        return response


def install_sign_in(bp, allowed, home, session_kind="office"):
    """``/login`` and ``/logout`` for the roles in ``allowed``; ``home`` is ``(path prefix,
    endpoint)`` where a sign-in lands unless ``next`` names a page of this console."""
    console = bp.name
    prefix, fallback = home

    def login():
        form = LoginForm()
        if request.method == "GET":
            form.next.data = request.args.get("next", "")
        if form.validate_on_submit():
            user = authenticate(form.username.data, form.password.data)
            if user is None:
                login_limits.failed()
                form.password.errors.append("Sai tên đăng nhập hoặc mật khẩu")
            elif user.role not in allowed:
                return render_template(f"{console}/refused.html", role=user.role), 403
            else:
                sign_in(user, session_kind)
                return redirect(safe_next(form.next.data, prefix, fallback))
        return render_template(f"{console}/login.html", form=form)

    # Flask-Limiter knows a view by its qualified name: each console's must be its own, or one
    # attempt would count once per console.
    login.__qualname__ = f"{console}.login"
    bp.add_url_rule("/login", "login", login_limits.limited(login), methods=["GET", "POST"])

    @bp.route("/logout", methods=["POST"], endpoint="logout")
    def logout():
        """A POST with the CSRF token, so another site cannot sign anyone out."""
        me = current_office_principal(optional=True)
        if me is not None:
            audit.record(me.actor, "logout", "session", console, user_id=me.user.id)
            db.session.commit()
        session.clear()
        forget_csrf_token()
        return redirect(url_for(f"{console}.login"))
