"""Tổ CNSCĐ: teams of each commune, their names and the hamlets they work."""
from flask import flash, redirect, render_template, request, url_for

from server.errors import Invalid
from server.services import admin_teams, admin_units
from server.web.admin import admin_view, bp, int_arg, show_errors
from server.web.admin_forms import TeamForm, TeamHamletsForm, TeamRenameForm


def _teams_page(form=None, status=200):
    communes = admin_units.open_communes()
    chosen = int_arg("commune")
    if chosen is None and form is not None:
        chosen = form.commune.data
    if chosen is None and communes:  # one commune's teams at a time: a province has thousands
        chosen = admin_teams.first_commune_with_teams() or communes[0].id
    if form is None:
        form = TeamForm(commune=chosen)
    form.commune.choices = [(None, "— Chọn xã —")] + [(c.id, f"{c.code} · {c.name}")
                                                     for c in communes]
    return render_template("admin/teams.html", teams=admin_teams.teams(chosen),
                           communes=communes, chosen=chosen, form=form), status


@bp.route("/teams", endpoint="teams")
@admin_view
def teams_page(me):
    """The teams (of one commune when chosen) and the form to add one."""
    return _teams_page()


@bp.route("/teams", methods=["POST"], endpoint="create_team")
@admin_view
def create_team(me):
    """Add a team to a commune."""
    form = TeamForm()
    form.commune.choices = [(c.id, c.name) for c in admin_units.open_communes()]
    if form.validate_on_submit():
        try:
            team = admin_teams.create_team(me, form.commune.data, form.name.data)
        except Invalid as err:
            show_errors(form, err)
        else:
            flash(f"Đã thêm {team.name}. Hãy giao ấp cho tổ.")
            return redirect(url_for("admin.team", team_id=team.id))
    return _teams_page(form, 422)


def _team_page(team, rename=None, hamlets=None, status=200):
    assignable = admin_teams.assignable_hamlets(team)
    if hamlets is None:
        hamlets = TeamHamletsForm(hamlets=[h.id for h in team.hamlets])
    hamlets.hamlets.choices = [(h.id, f"{h.code} · {h.name}") for h in assignable]
    return render_template("admin/team.html", team=team, members=admin_teams.members(team.id),
                           rename=rename or TeamRenameForm(obj=team), hamlets=hamlets,
                           closed=[h for h in team.hamlets if h.valid_to]), status


@bp.route("/teams/<int:team_id>", endpoint="team")
@admin_view
def team_page(me, team_id):
    """A team: its name, hamlets and members."""
    return _team_page(admin_teams.team(team_id))


@bp.route("/teams/<int:team_id>/rename", methods=["POST"], endpoint="rename_team")
@admin_view
def rename_team(me, team_id):
    """Rename the team."""
    team = admin_teams.team(team_id)
    form = TeamRenameForm()
    if form.validate_on_submit():
        try:
            admin_teams.rename_team(me, team.id, form.name.data)
        except Invalid as err:
            show_errors(form, err)
        else:
            flash("Đã đổi tên tổ.")
            return redirect(url_for("admin.team", team_id=team.id))
    return _team_page(team, rename=form, status=422)


@bp.route("/teams/<int:team_id>/hamlets", methods=["POST"], endpoint="team_hamlets")
@admin_view
def team_hamlets(me, team_id):
    """Set the hamlets the team works."""
    team = admin_teams.team(team_id)
    form = TeamHamletsForm()
    ids = [int(v) for v in request.form.getlist("hamlets") if v.isdigit() and len(v) < 10]
    if form.validate_on_submit():
        try:
            admin_teams.set_hamlets(me, team.id, ids)
        except Invalid as err:
            show_errors(form, err)
        else:
            flash("Đã lưu các ấp của tổ. Điện thoại của thành viên tải lại dữ liệu ở lần đồng "
                  "bộ tới.")
            return redirect(url_for("admin.team", team_id=team.id))
    form.hamlets.data = ids
    return _team_page(team, hamlets=form, status=422)
