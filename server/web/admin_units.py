"""Đơn vị hành chính: provinces to read; communes to add (a merger may reuse a closed one's
code) and close; a commune's hamlets to add, edit, close, and to draw (a GeoJSON boundary
upload, checked by ``services.admin_boundaries``)."""
from flask import flash, redirect, render_template, url_for

from server.errors import Invalid
from server.services import admin_boundaries, admin_units
from server.web import admin_labels, admin_map
from server.web.admin import admin_view, bp, int_arg, show_errors
from server.web.admin_forms import (BoundaryForm, CloseForm, CommuneForm, HamletEditForm,
                                    HamletForm)


def _saved(form, call, message, page, again):
    """A unit form's POST: validate ``form`` and ``call()`` the service; on success flash
    ``message(unit)`` and go to the unit's page (``page``: "commune" or "hamlet"), else put the
    refusal on the form and show it again with ``again()`` (a 422 page)."""
    if form.validate_on_submit():
        try:
            unit = call()
        except Invalid as err:
            show_errors(form, err)
        else:
            flash(message(unit))
            return redirect(url_for(f"admin.{page}", **{f"{page}_id": unit.id}))
    return again()


def _closed(unit):
    return f"Đã đóng {unit.name} từ ngày {unit.valid_to:%d/%m/%Y}."


def _units_page(chosen=None, form=None, status=200):
    provinces = admin_units.provinces()
    if chosen is None and provinces:
        chosen = next((p.id for p in provinces if p.valid_to is None), provinces[0].id)
    chosen_row = next((p for p in provinces if p.id == chosen), None)
    return render_template("admin/units.html", provinces=provinces, chosen=chosen_row,
                           communes=admin_units.communes(chosen) if chosen else [],
                           kinds=admin_labels.COMMUNE_KINDS,
                           form=form or CommuneForm()), status


@bp.route("/units", endpoint="units")
@admin_view
def units_page(me):
    """Provinces, and the communes of the chosen province (the only one, or the first)."""
    return _units_page(int_arg("province"))


@bp.route("/provinces/<int:province_id>/communes", methods=["POST"], endpoint="create_commune")
@admin_view
def create_commune(me, province_id):
    """Add a commune (or ward) to the province."""
    province = admin_units.province(province_id)
    form = CommuneForm()
    return _saved(form, lambda: admin_units.create_commune(
                      me, province.id, form.code.data, form.name.data, form.kind.data,
                      form.valid_from.data),
                  lambda c: f"Đã thêm {c.name} ({c.code}). Hãy nạp ranh giới xã và thêm ấp.",
                  "commune", lambda: _units_page(province.id, form, 422))


def _commune_page(commune, form=None, close=None, status=200):
    hamlets = admin_units.hamlets_of(commune.id)
    if form is None:
        form = HamletForm(code=admin_units.next_hamlet_code(commune))
    return render_template("admin/commune.html", commune=commune, hamlets=hamlets, form=form,
                           close=close or CloseForm(), kinds=admin_labels.COMMUNE_KINDS,
                           map=admin_map.draw([(commune.boundary, "commune", commune.name)] + [
                               (h.boundary, "hamlet", h.name) for h in hamlets
                               if h.valid_to is None])), status


@bp.route("/communes/<int:commune_id>", endpoint="commune")
@admin_view
def commune_page(me, commune_id):
    """A commune: its hamlets (open and closed) and the form to add one."""
    return _commune_page(admin_units.commune(commune_id))


@bp.route("/communes/<int:commune_id>/hamlets", methods=["POST"], endpoint="create_hamlet")
@admin_view
def create_hamlet(me, commune_id):
    """Add a hamlet to the commune."""
    commune = admin_units.commune(commune_id)
    form = HamletForm()
    return _saved(form, lambda: admin_units.create_hamlet(
                      me, commune.id, form.code.data, form.name.data, form.kind.data,
                      form.valid_from.data),
                  lambda h: f"Đã thêm {h.name} ({h.code}). Hãy tải ranh giới và giao ấp cho tổ.",
                  "hamlet", lambda: _commune_page(commune, form, status=422))


@bp.route("/communes/<int:commune_id>/close", methods=["POST"], endpoint="close_commune")
@admin_view
def close_commune(me, commune_id):
    """Close the commune from a day on (its code may then go to a new commune)."""
    commune = admin_units.commune(commune_id)
    form = CloseForm()
    return _saved(form, lambda: admin_units.close_commune(me, commune.id, form.valid_to.data),
                  _closed, "commune", lambda: _commune_page(commune, close=form, status=422))


def _hamlet_page(hamlet, edit=None, close=None, upload=None, status=200):
    commune = hamlet.commune
    siblings = [h for h in admin_units.hamlets_of(commune.id)
                if h.valid_to is None and h.id != hamlet.id]
    drawing = admin_map.draw([(commune.boundary, "commune", commune.name)]
                             + [(h.boundary, "hamlet", h.name) for h in siblings]
                             + [(hamlet.boundary, "hamlet current", hamlet.name)])
    return render_template(
        "admin/hamlet.html", hamlet=hamlet, commune=commune,
        edit=edit or HamletEditForm(obj=hamlet), close=close or CloseForm(),
        upload=upload or BoundaryForm(), teams=admin_units.hamlet_teams(hamlet.id),
        households=admin_units.live_households(hamlet.id), map=drawing,
        tolerance=admin_boundaries.TOLERANCE_M,
        max_mb=admin_boundaries.MAX_BYTES // (1024 * 1024)), status


@bp.route("/hamlets/<int:hamlet_id>", endpoint="hamlet")
@admin_view
def hamlet_page(me, hamlet_id):
    """A hamlet: edit, close, and its boundary."""
    return _hamlet_page(admin_units.hamlet(hamlet_id))


@bp.route("/hamlets/<int:hamlet_id>", methods=["POST"], endpoint="update_hamlet")
@admin_view
def update_hamlet(me, hamlet_id):
    """Save the hamlet's name, kind and start day."""
    hamlet = admin_units.hamlet(hamlet_id)
    form = HamletEditForm()
    return _saved(form, lambda: admin_units.update_hamlet(
                      me, hamlet.id, form.name.data, form.kind.data, form.valid_from.data),
                  lambda _: "Đã lưu thông tin ấp. Điện thoại của tổ nhận tên mới ở lần đồng bộ "
                            "tới.",
                  "hamlet", lambda: _hamlet_page(hamlet, edit=form, status=422))


@bp.route("/hamlets/<int:hamlet_id>/close", methods=["POST"], endpoint="close_hamlet")
@admin_view
def close_hamlet(me, hamlet_id):
    """Close the hamlet from a day on."""
    hamlet = admin_units.hamlet(hamlet_id)
    form = CloseForm()
    return _saved(form, lambda: admin_units.close_hamlet(me, hamlet.id, form.valid_to.data),
                  _closed, "hamlet", lambda: _hamlet_page(hamlet, close=form, status=422))


@bp.route("/hamlets/<int:hamlet_id>/boundary", methods=["POST"], endpoint="upload_boundary")
@admin_view
def upload_boundary(me, hamlet_id):
    """Take an uploaded GeoJSON boundary, or show why it was refused."""
    hamlet = admin_units.hamlet(hamlet_id)
    form = BoundaryForm()
    if form.validate_on_submit():
        upload = form.boundary.data
        raw = upload.read(admin_boundaries.MAX_BYTES + 1) if upload else b""
        try:
            _, checked, overlaps = admin_boundaries.set_boundary(me, hamlet.id, raw)
        except Invalid as err:
            show_errors(form, err)
        else:
            flash("Đã lưu ranh giới ấp." + ("" if checked else
                  " Xã chưa có ranh giới nên chưa kiểm tra được ấp có nằm trong xã không."))
            for other, square_metres in overlaps:
                flash(f"Lưu ý: ranh giới chồng lên {other.name} khoảng "
                      f"{round(square_metres):,} m².".replace(",", "."))
            return redirect(url_for("admin.hamlet", hamlet_id=hamlet.id))
    return _hamlet_page(hamlet, upload=form, status=422)


@bp.route("/hamlets/<int:hamlet_id>/boundary/clear", methods=["POST"],
          endpoint="clear_boundary")
@admin_view
def clear_boundary(me, hamlet_id):
    """Remove the hamlet's boundary."""
    hamlet = admin_units.hamlet(hamlet_id)
    if BoundaryForm().validate_on_submit():
        admin_boundaries.clear_boundary(me, hamlet.id)
        flash("Đã xóa ranh giới ấp.")
    return redirect(url_for("admin.hamlet", hamlet_id=hamlet.id))
