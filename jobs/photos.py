"""Photo processing: decode with our decoders only, drop every piece of metadata, bound the size.

The output is a fresh JPEG: no EXIF (so no GPS, no device), no XMP, no ICC profile, no comment.
"""
import io
import uuid

from flask import current_app
from PIL import Image, ImageOps

from jobs import job, job_log
from server.extensions import db
from server.services import photo_files, photo_images, photos

JPEG_QUALITY = 82
THUMB_QUALITY = 75


@job
def process_photo(photo_id):
    """Turn a pending upload into a clean JPEG and thumbnail, or reject it; safe to run twice."""
    photo_id = uuid.UUID(str(photo_id))
    photo = photos.start_attempt(photo_id)
    if photo is None:
        job_log("photo %s: nothing to do (missing or already processed)", photo_id)
        return None
    attempts, sha256 = photo.attempts, photo.sha256
    db.session.rollback()  # no transaction (on SQLite: no write lock) while Pillow works
    source = photo_files.original_path(photo_id, sha256)
    if attempts > photos.MAX_ATTEMPTS:
        return _reject(photo_id, "too many attempts")
    if not source.is_file():
        return _reject(photo_id, "the uploaded file is missing")
    try:
        width, height = render(source, photo_id)
    except photo_images.BadImage as err:
        return _reject(photo_id, str(err))
    if photos.finish(photo_id, "ready", width=width, height=height):
        job_log("photo %s: ready, %dx%d (attempt %d)", photo_id, width, height, attempts)
    return "ready"


def _reject(photo_id, error):
    photos.finish(photo_id, "rejected", error=error)
    job_log("photo %s: rejected: %s", photo_id, error)
    return "rejected"


def render(source, photo_id):
    """Write the processed photo and thumbnail of ``source``; returns the photo's size."""
    cfg = current_app.config
    edge, thumb_edge = cfg["PHOTO_LONG_EDGE"], cfg["PHOTO_THUMB_EDGE"]
    with photo_images.open_image(source, cfg["PHOTO_MAX_PIXELS"]) as img:
        # Checked again here: the original may predate the limit, or come from a sweep. For a
        # JPEG this also sets the draft: libjpeg decodes at 1/2..1/8 scale when still big enough.
        photo_images.check_decoded_size(img, edge, cfg["PHOTO_MAX_DECODED_BYTES"])
        try:
            img.load()
            try:
                upright = ImageOps.exif_transpose(img)  # orientation must survive losing EXIF
            except Exception:  # noqa: BLE001 - a damaged EXIF block is no reason to lose the photo
                upright = img.copy()
            picture = _plain_rgb(upright)
        except Exception as err:  # noqa: BLE001 - any decoder failure on untrusted bytes
            raise photo_images.BadImage(f"the image cannot be decoded ({err})"[:200]) from None
    picture.thumbnail((edge, edge), Image.Resampling.LANCZOS)
    thumb = picture.copy()
    thumb.thumbnail((thumb_edge, thumb_edge), Image.Resampling.LANCZOS)
    photo_files.write_atomic(photo_files.thumb_path(photo_id), _jpeg(thumb, THUMB_QUALITY))
    photo_files.write_atomic(photo_files.photo_path(photo_id), _jpeg(picture, JPEG_QUALITY))
    return picture.size


def _plain_rgb(img):
    """An RGB copy without transparency (flattened on white) and with no metadata at all."""
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        out = Image.new("RGB", rgba.size, "white")
        out.paste(rgba, mask=rgba.getchannel("A"))
    else:
        out = img.convert("RGB")
    out.info = {}  # convert() copies info; JPEG save would write e.g. its "comment" back out
    return out


def _jpeg(img, quality):
    buffer = io.BytesIO()
    img.save(buffer, "JPEG", quality=quality, optimize=True, progressive=True)
    return buffer.getvalue()
