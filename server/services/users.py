"""Read models of users for the API."""
from sqlalchemy import select

from server.extensions import db
from server.models import Commune, Hamlet, Province


def user_view(principal):
    """The ``user`` object of API.md for a principal."""
    user = principal.user
    province = db.session.get(Province, principal.province_id) if principal.province_id else None
    commune = db.session.get(Commune, principal.commune_id) if principal.commune_id else None
    if principal.hamlet_ids is None:
        query = select(Hamlet.id).order_by(Hamlet.id)
        if commune is not None:
            query = query.where(Hamlet.commune_id == commune.id)
        elif province is not None:
            query = query.join(Commune).where(Commune.province_id == province.id)
        hamlet_ids = [] if user.role == "province_analyst" else list(db.session.scalars(query))
    else:
        hamlet_ids = sorted(principal.hamlet_ids)
    return {
        "id": user.id, "username": user.username, "display_name": user.display_name,
        "role": user.role, "province_code": province.code if province else None,
        "commune_code": commune.code if commune else None, "team_id": user.team_id,
        "hamlet_ids": hamlet_ids,
    }
