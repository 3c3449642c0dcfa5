"""Visit photos: upload the image bytes, read back the processed photo and its thumbnail."""
from flask import request, send_file
from flask_smorest import Blueprint

from schemas.photos import CONSENT_HEADER, JPEG_RESPONSE, PHOTO_BODY, PhotoOut
from server.api import body_limit, consumes
from server.auth import FIELD_ROLES, current_principal, require
from server.errors import ApiError
from server.services import photos

bp = Blueprint("photos", __name__, url_prefix="/api/v1", description="Visit photos")

PATH = "/visits/<visit_id>/photos/<photo_id>"


@bp.route(PATH, methods=["PUT"])
@consumes(*photos.CONTENT_TYPES)
@body_limit("PHOTO_MAX_BYTES")
@require(*FIELD_ROLES)
@bp.response(201, PhotoOut)
@bp.alt_response(200, schema=PhotoOut, description="An identical retry: already stored")
@bp.doc(security=[{"bearer": []}], requestBody=PHOTO_BODY, parameters=[CONSENT_HEADER])
def put_photo(visit_id, photo_id):
    """Store a photo of a visit (idempotent by photo id and sha256); processing runs as a job."""
    data = request.get_data(cache=False)
    if request.content_length is not None and len(data) < request.content_length:
        # gunicorn hands over what arrived before the client hung up; never store a cut upload.
        raise ApiError("The body ended before its Content-Length: the upload was cut")
    photo, created = photos.upload(
        current_principal(), visit_id, photo_id, request.mimetype, data,
        request.headers.get("X-Consent"),
    )
    return photo, 201 if created else 200


@bp.route(PATH, methods=["GET"])
@require(*FIELD_ROLES)
@bp.doc(security=[{"bearer": []}], responses={"200": JPEG_RESPONSE})
def get_photo(visit_id, photo_id):
    """The processed photo (404 ``photo_pending`` while processing, 422 ``photo_rejected``)."""
    return _send(photos.processed_file(current_principal(), visit_id, photo_id))


@bp.route(PATH + "/thumb", methods=["GET"])
@require(*FIELD_ROLES)
@bp.doc(security=[{"bearer": []}], responses={"200": JPEG_RESPONSE})
def get_thumb(visit_id, photo_id):
    """The thumbnail of the processed photo (same answers as the photo)."""
    return _send(photos.processed_file(current_principal(), visit_id, photo_id, thumbnail=True))


def _send(path):
    response = send_file(path, mimetype="image/jpeg", conditional=True, max_age=86400)
    response.headers["Cache-Control"] = "private, max-age=86400"  # personal data: no shared caches
    return response
