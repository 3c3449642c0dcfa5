"""Where photo files live under MEDIA_DIR, how they are written, and removing leftovers.

Files are named by the row: ``originals/<id>.<sha256>`` (the upload as sent, GPS and all:
removed once processed), ``photos/<id>.jpg`` and ``thumbs/<id>.jpg`` (re-encoded, no metadata).
"""
import os
import re
import tempfile
import uuid
from pathlib import Path

from flask import current_app

ORIGINAL_NAME = re.compile(r"^([0-9a-f-]{36})\.([0-9a-f]{64})$")
TMP_PREFIX = ".tmp-"


def media(kind):
    """The folder of one kind of file (``originals``, ``photos``, ``thumbs``)."""
    return Path(current_app.config["MEDIA_DIR"]) / kind


def original_path(photo_id, sha256):
    """Where the upload waits for processing; the digest keeps racing different bytes apart."""
    return media("originals") / f"{photo_id}.{sha256}"


def photo_path(photo_id):
    """The processed image."""
    return media("photos") / f"{photo_id}.jpg"


def thumb_path(photo_id):
    """The processed thumbnail."""
    return media("thumbs") / f"{photo_id}.jpg"


def write_atomic(path, data):
    """Write ``data`` to ``path`` so readers see the old file or the whole new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=TMP_PREFIX)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o640)  # mkstemp's 0600 would lock out a web server in the worker's group
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_orphans(cutoff, still_needed):
    """Delete originals (and stray temp files) older than ``cutoff`` nothing needs any more.

    ``still_needed(photo_id, sha256)`` says whether a pending row waits for an original.
    """
    folder = media("originals")
    if not folder.is_dir():
        return 0
    removed = 0
    for path in folder.iterdir():
        try:
            if path.stat().st_mtime > cutoff.timestamp():
                continue  # maybe an upload between its write and its commit
        except FileNotFoundError:
            continue
        match = ORIGINAL_NAME.match(path.name)
        if match:
            if still_needed(uuid.UUID(match[1]), match[2]):
                continue
        elif not path.name.startswith(TMP_PREFIX):
            continue  # not ours: leave it
        path.unlink(missing_ok=True)
        removed += 1
    return removed
