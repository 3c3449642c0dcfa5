"""Số liệu nền: each hamlet's households and adults, over which coverage rates are taken."""
from flask import flash, redirect, render_template, url_for

from server.services import baselines
from server.web.forms import BaselinesForm
from server.web.office import bp
from server.web.session_auth import office_view


def _form_for(hamlets):
    return BaselinesForm(data={"rows": [
        {"hamlet_id": str(h.id), "households_total": h.households_total,
         "adults_total": h.adults_total} for h in hamlets]})


@bp.route("/baselines", endpoint="baselines")
@office_view()
def baselines_page(me):
    """The baselines of every hamlet in scope (editable by the commune office)."""
    hamlets = baselines.hamlets(me)
    return render_template("office/baselines.html", form=_form_for(hamlets),
                           hamlets={h.id: h for h in hamlets},
                           editable=me.role == "commune_officer")


@bp.route("/baselines", methods=["POST"])
@office_view("commune_officer")
def save_baselines(me):
    """Save the edited baselines; each change is audit-logged."""
    hamlets = baselines.hamlets(me)
    form = BaselinesForm()
    if not form.validate():
        return render_template("office/baselines.html", form=form,
                               hamlets={h.id: h for h in hamlets}, editable=True), 422
    changed = baselines.update(me, form.figures())
    flash(f"Đã lưu số liệu nền ({changed} ấp thay đổi).")
    return redirect(url_for("office.baselines"))
