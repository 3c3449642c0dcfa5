"""The error pages every console blueprint (office, province, admin) answers with."""
import logging

from flask import render_template
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from server.errors import ApiError
from server.extensions import db
from server.web import labels
from server.web.session_auth import NotSignedIn, login_redirect

log = logging.getLogger(__name__)


def install(bp, console, login_endpoint):
    """Register the console's handlers on ``bp``; returns its ``error_page(status, detail=None)``.

    Not signed in (or a token gone stale) leads to the console's own sign-in page; every other
    error is a Vietnamese page in the console's layout, never a stack trace or a JSON body.
    """
    def error_page(status, detail=None):
        title, message = labels.ERRORS.get(status, labels.ERRORS[500])
        return render_template(f"{console}/error.html", status=status, title=title,
                               message=message, detail=detail), status

    @bp.errorhandler(NotSignedIn)
    def _not_signed_in(_err):
        return login_redirect(login_endpoint)

    @bp.errorhandler(ApiError)
    def _api_error(err):
        if err.status == 401:
            return login_redirect(login_endpoint)
        return error_page(err.status)

    @bp.errorhandler(HTTPException)
    def _http_error(err):
        return error_page(err.code or 500)

    @bp.errorhandler(Exception)
    def _unhandled(err):
        db.session.rollback()
        log.exception("%s page failed", console)
        return error_page(503 if isinstance(err, OperationalError) else 500)

    return error_page
