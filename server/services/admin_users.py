"""User accounts for the admin: create, reset a password, deactivate, reactivate.

A deactivated user is out at once everywhere: every device token is revoked (the API also
refuses any token of an inactive user) and the console's session check reads ``active`` on
every request (server/auth.py ``session_principal``). Reactivating sets a new password, which
also ends any browser session that was still open somewhere (the session carries a stamp of the
password hash).
"""
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import selectinload

from server.errors import Invalid
from server.extensions import db
from server.models import Commune, DeviceToken, Province, Team, User
from server.models.types import utcnow
from server.services import accounts, audit
from server.services.admin_input import Problems, get_row, refuse, text
from server.vocab import ROLES, TEXT

PAGE_SIZE = 50
PASSWORD_MIN = 8
PASSWORD_MAX = TEXT["auth.password"][1]
DISPLAY_NAME_MAX = 160

# accounts.create_user's messages (the CLI's, in English) as the admin reads them.
_MESSAGES = {
    "already taken": "Tên đăng nhập này đã có người dùng",
    "must be at least 8 characters": f"Mật khẩu cần ít nhất {PASSWORD_MIN} ký tự",
    "must be 1 to 80 printable characters without spaces":
        "Tên đăng nhập gồm 1–80 ký tự, không có dấu cách",
    "must be at most 160 characters": "Không được dài quá 160 ký tự",
    "unknown commune code": "Xã không tồn tại hoặc đã hết hiệu lực",
    "unknown team": "Tổ không tồn tại",
    "team belongs to another commune": "Tổ thuộc xã khác",
    "unknown province code": "Tỉnh không tồn tại",
}
_REQUIRED = {"team": "Vai trò này cần chọn tổ", "commune": "Vai trò này cần chọn xã",
             "province": "Vai trò này cần chọn tỉnh"}


def users(search="", role=None, commune_id=None, page=1):
    """``(users of the page, total)`` matching a username/name search, role and commune."""
    query = select(User)
    if search:
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(func.lower(User.username).like(pattern.lower(), escape="\\"),
                                func.lower(User.display_name).like(pattern.lower(), escape="\\")))
    if role in ROLES:
        query = query.where(User.role == role)
    if commune_id is not None:
        query = query.where(User.commune_id == commune_id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.order_by(User.username)
                              .options(selectinload(User.team), selectinload(User.commune),
                                       selectinload(User.province))
                              .offset((max(page, 1) - 1) * PAGE_SIZE).limit(PAGE_SIZE))
    return list(rows), total


def user(user_id):
    """One user; 404 when unknown."""
    return get_row(User, user_id, "Unknown user")


def live_tokens(user_id):
    """The user's device tokens that still work (not revoked, not expired), newest first."""
    return list(db.session.scalars(select(DeviceToken).where(
        DeviceToken.user_id == user_id, DeviceToken.revoked_at.is_(None),
        DeviceToken.expires_at > utcnow()).order_by(DeviceToken.created_at.desc())))


def _revoke_tokens(user_id):
    result = db.session.execute(
        update(DeviceToken).where(DeviceToken.user_id == user_id,
                                  DeviceToken.revoked_at.is_(None))
        .values(revoked_at=utcnow()).execution_options(synchronize_session=False))
    return result.rowcount


def _password(problems, password, field="password"):
    if not isinstance(password, str) or len(password) < PASSWORD_MIN:
        problems.add(field, f"Mật khẩu cần ít nhất {PASSWORD_MIN} ký tự")
    elif len(password) > PASSWORD_MAX:
        problems.add(field, f"Mật khẩu không được dài quá {PASSWORD_MAX} ký tự")


def create_user(principal, username, display_name, password, role, province_id=None,
                commune_id=None, team_id=None):
    """A new user with the units its role needs (a team, a commune, a province, or none)."""
    problems = Problems()
    username = (username or "").strip()
    if not 1 <= len(username) <= 80 or not username.isprintable() or " " in username:
        problems.add("username", "Tên đăng nhập gồm 1–80 ký tự, không có dấu cách")
    display_name = text(problems, "display_name", display_name, DISPLAY_NAME_MAX, "name")
    _password(problems, password)
    province = db.session.get(Province, province_id) if province_id is not None else None
    commune = db.session.get(Commune, commune_id) if commune_id is not None else None
    if province_id is not None and province is None:
        problems.add("province", "Tỉnh không tồn tại")
    if commune_id is not None and (commune is None or commune.valid_to is not None):
        problems.add("commune", "Xã không tồn tại hoặc đã hết hiệu lực")
    problems.raise_if_any()
    # Only the units the role uses: an officer is not also tied to a team left in the form.
    uses = {"member": "team", "team_lead": "team", "commune_officer": "commune",
            "province_analyst": "province"}.get(role)
    try:
        row = accounts.create_user(
            username, password, role,
            commune_code=commune.code if commune and uses == "commune" else None,
            team_id=team_id if uses == "team" else None, display_name=display_name or None,
            province_code=province.code if province and uses == "province" else None,
            actor=principal.actor, actor_user_id=principal.user.id)
    except Invalid as err:
        raise Invalid("Không tạo được tài khoản", {
            field: [_REQUIRED.get(field, "Bắt buộc chọn") if m == "required for this role"
                    else _MESSAGES.get(m, "Không hợp lệ") for m in messages]
            for field, messages in err.fields.items()}) from None
    return row


def reset_password(principal, user_id, password, sign_out_devices=True):
    """Set a new password; the user's browser sessions end, and their phones too if asked."""
    row = user(user_id)
    problems = Problems()
    _password(problems, password)
    problems.raise_if_any()
    row.password_hash = accounts.hash_password(password)
    revoked = _revoke_tokens(row.id) if sign_out_devices else 0
    audit.record(principal.actor, "user.password", "user", row.id,
                 {"tokens_revoked": revoked}, user_id=principal.user.id)
    db.session.commit()
    return revoked


def deactivate(principal, user_id):
    """Lock a user out now: the account, every device token and every console session."""
    row = user(user_id)
    if row.id == principal.user.id:
        refuse("user", "Không thể tự khóa tài khoản đang đăng nhập")
    if not row.active:
        refuse("user", "Tài khoản đã bị khóa")
    row.active = False
    revoked = _revoke_tokens(row.id)
    audit.record(principal.actor, "user.deactivate", "user", row.id,
                 {"tokens_revoked": revoked}, user_id=principal.user.id)
    db.session.commit()
    return revoked


def reactivate(principal, user_id, password):
    """Open a locked account again, with a new password."""
    row = user(user_id)
    problems = Problems()
    if row.active:
        problems.add("user", "Tài khoản đang hoạt động")
    _password(problems, password)
    problems.raise_if_any()
    row.active = True
    row.password_hash = accounts.hash_password(password)
    audit.record(principal.actor, "user.reactivate", "user", row.id, {},
                 user_id=principal.user.id)
    db.session.commit()
    return row


def teams_for_choice(commune_id=None):
    """``[(team, commune)]`` of open communes (or of one), for the create form."""
    query = (select(Team, Commune).join(Commune, Team.commune_id == Commune.id)
             .where(Commune.valid_to.is_(None)).order_by(Commune.code, Team.name))
    if commune_id is not None:
        query = query.where(Commune.id == commune_id)
    return list(db.session.execute(query).tuples())
