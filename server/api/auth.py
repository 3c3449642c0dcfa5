"""Sign in and out, and who am I."""
from flask import current_app, request
from flask_limiter.util import get_remote_address
from flask.views import MethodView

from schemas.auth import TokenIn, TokenOut, UserOut
from server.api import Blueprint
from server.auth import ALL_ROLES, current_principal, require
from server.extensions import limiter
from server.services import accounts
from server.services.users import user_view

bp = Blueprint("auth", __name__, url_prefix="/api/v1", description="Device tokens")


def _cfg(key):
    return current_app.config[key]


def _login_key():
    body = request.get_json(silent=True)
    username = body.get("username") if isinstance(body, dict) else None
    return f"{get_remote_address()}|{str(username)[:80]}"


def _failed(response):
    return response.status_code == 401


@bp.route("/auth/token")
class Token(MethodView):
    """Issue and revoke device tokens."""

    @limiter.limit(lambda: _cfg("LOGIN_RATE_LIMIT"), key_func=_login_key, deduct_when=_failed)
    @limiter.limit(lambda: _cfg("LOGIN_RATE_LIMIT_PER_ADDRESS"), deduct_when=_failed)
    @bp.arguments(TokenIn)
    @bp.response(201, TokenOut)
    def post(self, body):
        """Exchange username and password for a device token."""
        token, row, principal = accounts.issue_token(
            body["username"], body["password"], body["device_id"]
        )
        return {"token": token, "expires_at": row.expires_at, "user": user_view(principal)}

    @require(*ALL_ROLES)
    @bp.response(204)
    @bp.doc(security=[{"bearer": []}])
    def delete(self):
        """Revoke the token used for this request."""
        accounts.revoke_token(current_principal().token_id)


@bp.route("/me")
@require(*ALL_ROLES)
@bp.response(200, UserOut)
@bp.doc(security=[{"bearer": []}])
def me():
    """The signed-in user and the hamlets they work in."""
    return user_view(current_principal())
