"""Chỉ tiêu and Chiến dịch: the provinces' targets (percentages due by a date) and campaigns."""
from flask import flash, redirect, render_template, request, url_for

from server.errors import Invalid
from server.services import admin_targets, catalogue
from server.web import admin_labels
from server.web.admin import admin_view, bp, show_errors
from server.web.admin_forms import CampaignForm, TargetForm


def _service_labels():
    return {s.code: s.label for s in catalogue.services()}


def _province_choices(form):
    form.province_code.choices = [(code, f"{code} · {name}")
                                  for code, name in admin_targets.province_codes().items()]


def _target_form(form):
    _province_choices(form)
    labels = _service_labels()
    form.indicator.choices = [(name, admin_labels.indicator(name, labels))
                              for name, _ in admin_targets.indicators()]
    return form


def _percent(share):
    return None if share is None else round(share * 100, 2)


@bp.route("/targets", methods=["GET", "POST"], endpoint="targets")
@admin_view
def targets_page(me):
    """The targets, and the form to add one."""
    form = _target_form(TargetForm())
    if form.validate_on_submit():
        try:
            admin_targets.add_target(me, form.province_code.data, form.indicator.data,
                                     form.value.data, form.due.data, form.source.data)
        except Invalid as err:
            show_errors(form, err)
        else:
            flash("Đã thêm chỉ tiêu.")
            return redirect(url_for("admin.targets"))
    status = 422 if request.method == "POST" else 200
    return render_template("admin/targets.html", targets=admin_targets.targets(), form=form,
                           services=_service_labels(), percent=_percent), status


@bp.route("/targets/<int:target_id>", methods=["GET", "POST"], endpoint="target")
@admin_view
def target_page(me, target_id):
    """Change a target."""
    row = admin_targets.target(target_id)
    form = _target_form(TargetForm(obj=row) if request.method == "GET" else TargetForm())
    if row.indicator not in dict(form.indicator.choices):  # named before this catalogue
        form.indicator.choices.append((row.indicator, row.indicator))
    if request.method == "GET":
        form.value.data = _percent(row.value)
    elif form.validate_on_submit():
        try:
            admin_targets.update_target(me, row.id, form.province_code.data, form.indicator.data,
                                        form.value.data, form.due.data, form.source.data)
        except Invalid as err:
            show_errors(form, err)
        else:
            flash("Đã lưu chỉ tiêu.")
            return redirect(url_for("admin.targets"))
    status = 422 if request.method == "POST" else 200
    return render_template("admin/target.html", target=row, form=form), status


def _campaign_form(form):
    _province_choices(form)
    form.services.choices = [(s.code, f"{s.code} · {s.label}") for s in catalogue.services()
                             if s.active or s.code in (form.services.data or ())]
    return form


def _campaign_args(form):
    return (form.province_code.data, form.name.data, form.date_from.data, form.date_to.data,
            form.services.data, form.target.data)


@bp.route("/campaigns", methods=["GET", "POST"], endpoint="campaigns")
@admin_view
def campaigns_page(me):
    """The campaigns, and the form to add one."""
    form = _campaign_form(CampaignForm())
    if form.validate_on_submit():
        try:
            admin_targets.add_campaign(me, *_campaign_args(form))
        except Invalid as err:
            show_errors(form, err)
        else:
            flash("Đã thêm chiến dịch. Số liệu của chiến dịch đang được tính.")
            return redirect(url_for("admin.campaigns"))
    status = 422 if request.method == "POST" else 200
    return render_template("admin/campaigns.html", campaigns=admin_targets.campaigns(),
                           form=form, percent=_percent), status


@bp.route("/campaigns/<int:campaign_id>", methods=["GET", "POST"], endpoint="campaign")
@admin_view
def campaign_page(me, campaign_id):
    """Change a campaign."""
    row = admin_targets.campaign(campaign_id)
    if request.method == "GET":
        form = _campaign_form(CampaignForm(obj=row))
        form.target.data = _percent(row.target)
    else:
        form = _campaign_form(CampaignForm())
        if form.validate_on_submit():
            try:
                admin_targets.update_campaign(me, row.id, *_campaign_args(form))
            except Invalid as err:
                show_errors(form, err)
            else:
                flash("Đã lưu chiến dịch.")
                return redirect(url_for("admin.campaigns"))
    status = 422 if request.method == "POST" else 200
    return render_template("admin/campaign.html", campaign=row, form=form), status
