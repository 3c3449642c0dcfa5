"""Khóa API: the provinces' keys for the aggregates API (``services.api_keys``). A new key is
shown once, on the answer to the form that made it; only its hash is stored."""
import secrets

from flask import flash, redirect, render_template, request, session, url_for

from server.errors import Invalid, NotFound
from server.services import admin_units, api_keys
from server.services.admin_input import Problems, text
from server.web.admin import admin_view, bp, show_errors
from server.web.admin_forms import ApiKeyForm
from server.vocab import INT32_MAX
from server.web.forms import EmptyForm

_MESSAGES = {"unknown province code": "Tỉnh không tồn tại hoặc đã hết hiệu lực",
             "at most 120 characters": "Không được dài quá 120 ký tự"}
_ONCE = "admin.apikey_form"


def _form(form=None):
    form = form or ApiKeyForm()
    form.province.choices = [(p.code, f"{p.code} · {p.name}") for p in admin_units.provinces()
                             if p.valid_to is None]
    return form


def _page(form, created=None, status=200):
    # A fresh one-time mark per form shown: re-posting an answer (a reload) makes no second key.
    form.once.data = session[_ONCE] = secrets.token_urlsafe(16)
    return render_template("admin/keys.html", keys=api_keys.list_keys(), form=form,
                           created=created, revoke=EmptyForm()), status


@bp.route("/keys", methods=["GET", "POST"], endpoint="keys")
@admin_view
def keys_page(me):
    """The keys with their last use; a POST creates one and shows its plain text once."""
    form = _form()
    if request.method == "GET" or not form.validate_on_submit():
        return _page(form, status=422 if request.method == "POST" else 200)
    if not form.once.data or form.once.data != session.pop(_ONCE, None):
        flash("Biểu mẫu này đã được gửi: không tạo thêm khóa. Khóa đã tạo có trong danh sách.")
        return redirect(url_for("admin.keys"))
    problems = Problems()
    label = text(problems, "label", form.label.data or "", api_keys.LABEL_MAX, required=False)
    try:
        problems.raise_if_any()
    except Invalid as err:
        show_errors(form, err)
        return _page(form, status=422)
    try:
        key, plain = api_keys.create_key(form.province.data, label, actor=me)
    except Invalid as err:  # the key service speaks English (it also serves the CLI)
        err.fields = {name: [_MESSAGES.get(m, "Không hợp lệ") for m in messages]
                      for name, messages in err.fields.items()}
        show_errors(form, err)
        return _page(form, status=422)
    # Rendered, not redirected: the plain key must not travel in a URL or a flash cookie.
    return _page(_form(ApiKeyForm(formdata=None)), created=(key, plain))


@bp.route("/keys/<int:key_id>/revoke", methods=["POST"], endpoint="revoke_key")
@admin_view
def revoke_key(me, key_id):
    """Revoke a key at once: the next call with it answers 401."""
    if key_id > INT32_MAX:
        raise NotFound("Unknown API key")
    if EmptyForm().validate_on_submit():
        key = api_keys.revoke_key(key_id, actor=me)
        flash(f"Đã thu hồi khóa {key.prefix}…")
    return redirect(url_for("admin.keys"))
