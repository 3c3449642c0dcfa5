"""Danh mục dịch vụ: relabel, add and retire services; phones learn each change through pull."""
from flask import flash, redirect, render_template, request, url_for

from server.errors import Invalid
from server.services import catalogue
from server.web.admin import admin_view, bp, show_errors
from server.web.admin_forms import ServiceEditForm, ServiceForm
from server.web.forms import EmptyForm


@bp.route("/services", endpoint="services")
@admin_view
def services_page(me):
    """The whole catalogue, active and retired."""
    return render_template("admin/services.html", services=catalogue.services(),
                           action=EmptyForm())


@bp.route("/services/new", methods=["GET", "POST"], endpoint="new_service")
@admin_view
def new_service(me):
    """Add a service."""
    form = ServiceForm()
    if form.validate_on_submit():
        try:
            service = catalogue.add(me, form.code.data, form.label.data, form.unit.data,
                                    form.skill.data, form.provider_list(), form.sort_order.data)
        except Invalid as err:
            show_errors(form, err)
        else:
            flash(f"Đã thêm dịch vụ {service.code}. Điện thoại nhận dịch vụ mới ở lần đồng bộ "
                  "tới.")
            return redirect(url_for("admin.services"))
    status = 422 if request.method == "POST" else 200
    return render_template("admin/service_form.html", form=form, service=None), status


@bp.route("/services/<code>", methods=["GET", "POST"], endpoint="service")
@admin_view
def service_page(me, code):
    """Relabel a service (its code and unit stay: old visits keep their meaning)."""
    service = catalogue.get(code)
    form = ServiceEditForm(obj=service) if request.method == "GET" else ServiceEditForm()
    if request.method == "GET":
        form.providers.data = "\n".join(service.providers or [])
        form.skill.data = service.skill or ""
    elif form.validate_on_submit():
        sort_order = service.sort_order if form.sort_order.data is None else form.sort_order.data
        try:
            catalogue.update(me, service.code, form.label.data, form.skill.data,
                             form.provider_list(), sort_order)
        except Invalid as err:
            show_errors(form, err)
        else:
            flash(f"Đã lưu dịch vụ {service.code}.")
            return redirect(url_for("admin.services"))
    status = 422 if request.method == "POST" else 200
    return render_template("admin/service_form.html", form=form, service=service,
                           lines=catalogue.visit_lines(service.code), action=EmptyForm()), status


def _state_change(me, code, change, done):
    service = catalogue.get(code)
    if EmptyForm().validate_on_submit():
        try:
            change(me, service.code)
        except Invalid as err:
            flash(err.fields.get("code", [err.message])[0])
        else:
            flash(done.format(code=service.code))
    return redirect(url_for("admin.services"))


@bp.route("/services/<code>/retire", methods=["POST"], endpoint="retire_service")
@admin_view
def retire_service(me, code):
    """Stop offering a service (visits recorded until now keep it)."""
    return _state_change(me, code, catalogue.retire,
                         "Đã ngừng dịch vụ {code}. Lượt thăm cũ vẫn giữ dịch vụ này; điện thoại "
                         "bỏ dịch vụ khỏi phiếu ở lần đồng bộ tới.")


@bp.route("/services/<code>/restore", methods=["POST"], endpoint="restore_service")
@admin_view
def restore_service(me, code):
    """Offer a retired service again."""
    return _state_change(me, code, catalogue.restore, "Đã dùng lại dịch vụ {code}.")
