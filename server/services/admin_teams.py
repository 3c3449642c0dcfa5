"""Teams (Tổ CNSCĐ) and the hamlets they work, for the admin.

A team's hamlets are its members' scope. Changing them changes the members' scope fingerprint,
so their next pull starts over and brings the new hamlets' records (server/services/sync_cursor).
"""
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from server.extensions import db
from server.models import Commune, Hamlet, Team, User
from server.services import audit
from server.services.admin_input import Problems, get_row, text
from server.services.admin_units import commune

NAME_MAX = 160


def teams(commune_id=None):
    """``[(team, active members)]`` by commune and name."""
    members = (select(User.team_id, func.count().label("n")).where(User.active)
               .group_by(User.team_id).subquery())
    query = (select(Team, func.coalesce(members.c.n, 0))
             .outerjoin(members, members.c.team_id == Team.id)
             .options(selectinload(Team.hamlets), selectinload(Team.commune))
             .order_by(Team.commune_id, Team.name, Team.id))
    if commune_id is not None:
        query = query.where(Team.commune_id == commune_id)
    return [tuple(row) for row in db.session.execute(query)]


def first_commune_with_teams():
    """The open commune with teams that comes first by code (the teams page's default), or None."""
    return db.session.scalar(select(Commune.id).join(Team, Team.commune_id == Commune.id)
                             .where(Commune.valid_to.is_(None)).order_by(Commune.code).limit(1))


def team(team_id):
    """One team; 404 when unknown."""
    return get_row(Team, team_id, "Unknown team")


def members(team_id):
    """The team's users, active first."""
    return list(db.session.scalars(select(User).where(User.team_id == team_id)
                                   .order_by(User.active.desc(), User.display_name)))


def assignable_hamlets(team_row):
    """The open hamlets of the team's commune."""
    return list(db.session.scalars(select(Hamlet).where(
        Hamlet.commune_id == team_row.commune_id, Hamlet.valid_to.is_(None))
        .order_by(Hamlet.code)))


def _name(problems, commune_id, name, team_id=None):
    name = text(problems, "name", name, NAME_MAX)
    if name:
        clash = select(Team.id).where(Team.commune_id == commune_id, Team.name == name)
        if team_id is not None:
            clash = clash.where(Team.id != team_id)
        if db.session.scalar(clash) is not None:
            problems.add("name", "Xã đã có tổ mang tên này")
    return name


def create_team(principal, commune_id, name):
    """A new team of an open commune, with no hamlets yet."""
    parent = commune(commune_id)
    problems = Problems()
    if parent.valid_to is not None:
        problems.add("commune", "Xã đã hết hiệu lực")
    name = _name(problems, parent.id, name)
    problems.raise_if_any()
    row = Team(commune_id=parent.id, name=name)
    db.session.add(row)
    db.session.flush()
    audit.record(principal.actor, "team.create", "team", row.id,
                 {"commune": parent.code, "name": name}, user_id=principal.user.id)
    db.session.commit()
    return row


def rename_team(principal, team_id, name):
    """Rename a team."""
    row = team(team_id)
    problems = Problems()
    name = _name(problems, row.commune_id, name, row.id)
    problems.raise_if_any()
    if name != row.name:
        audit.record(principal.actor, "team.rename", "team", row.id, {"name": [row.name, name]},
                     user_id=principal.user.id)
        row.name = name
        db.session.commit()
    return row


def set_hamlets(principal, team_id, hamlet_ids):
    """Make the team's open hamlets exactly ``hamlet_ids`` (closed ones stay, as history)."""
    row = team(team_id)
    allowed = {h.id: h for h in assignable_hamlets(row)}
    wanted = set(hamlet_ids)
    problems = Problems()
    if wanted - set(allowed):
        problems.add("hamlets", "Chỉ chọn được ấp đang hoạt động của xã mà tổ thuộc về")
    problems.raise_if_any()
    current = {h.id for h in row.hamlets}
    added, removed = sorted(wanted - current), sorted((current & set(allowed)) - wanted)
    if not added and not removed:
        return row
    row.hamlets = [h for h in row.hamlets if h.id not in removed] + [allowed[i] for i in added]
    audit.record(principal.actor, "team.hamlets", "team", row.id,
                 {"added": [allowed[i].code for i in added],
                  "removed": [allowed[i].code for i in removed]}, user_id=principal.user.id)
    db.session.commit()
    return row
