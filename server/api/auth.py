"""Sign in and out, and who am I."""
from flask.views import MethodView

from schemas.auth import TokenIn, TokenOut, UserOut
from server import login_limits
from server.api import Blueprint
from server.auth import ALL_ROLES, current_principal, require
from server.errors import Unauthorized
from server.services import accounts
from server.services.users import user_view

bp = Blueprint("auth", __name__, url_prefix="/api/v1", description="Device tokens")


@bp.route("/auth/token")
class Token(MethodView):
    """Issue and revoke device tokens."""

    @login_limits.limited  # the same failed-login budget as the console's sign-in
    @bp.arguments(TokenIn)
    @bp.response(201, TokenOut)
    def post(self, body):
        """Exchange username and password for a device token."""
        try:
            token, row, principal = accounts.issue_token(
                body["username"], body["password"], body["device_id"]
            )
        except Unauthorized:
            login_limits.failed()
            raise
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
