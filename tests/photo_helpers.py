"""Builders of test images and visits for the photo tests."""
import hashlib
import io
import struct
import uuid
import zlib

import pytest
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from server.extensions import db
from server.models import Photo
from tests.factories import login
from tests.sync_helpers import household, push, statuses, visit

RED, BLUE = (220, 20, 20), (20, 20, 220)


def phone_exif(orientation=6):
    """EXIF like a phone writes it: GPS position, orientation and the maker."""
    exif = Image.Exif()
    exif[0x8825] = {2: (IFDRational(10), IFDRational(56), IFDRational(0)), 1: "N",
                    4: (IFDRational(107), IFDRational(24), IFDRational(0)), 3: "E"}
    exif[0x0112] = orientation
    exif[0x010F] = "PhoneMaker"
    exif[0x0110] = "PhoneModel X"
    return exif


def quadrant_image(size, mode="RGB"):
    """Blue, with the top-left quadrant red, so a rotation can be seen in the pixels."""
    img = Image.new(mode, size, BLUE)
    img.paste(RED, (0, 0, size[0] // 2, size[1] // 2))
    return img


def jpeg_bytes(size=(3000, 2000), exif=None, comment=None, quality=85):
    """A JPEG of ``size`` with optional EXIF and comment."""
    buffer = io.BytesIO()
    params = {"quality": quality}
    if exif is not None:
        params["exif"] = exif
    if comment is not None:
        params["comment"] = comment
    quadrant_image(size).save(buffer, "JPEG", **params)
    return buffer.getvalue()


def png_bytes(size=(800, 600), transparent=False):
    """A PNG; with ``transparent`` its right half is fully transparent."""
    img = quadrant_image(size, "RGBA")
    if transparent:
        img.paste((0, 0, 0, 0), (size[0] // 2, 0, size[0], size[1]))
    buffer = io.BytesIO()
    img.save(buffer, "PNG")
    return buffer.getvalue()


def webp_bytes(size=(900, 700), exif=None):
    """A WebP, optionally carrying EXIF."""
    buffer = io.BytesIO()
    quadrant_image(size).save(buffer, "WEBP", quality=80, **({"exif": exif} if exif else {}))
    return buffer.getvalue()


def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(side):
    """A valid 1-bit PNG of ``side``x``side`` pixels that compresses to a few kilobytes."""
    row = b"\x00" * (1 + (side + 7) // 8)  # filter byte + packed bits
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat)
            + _chunk(b"IEND", b""))


def png_deep(side, bit_depth=16, color_type=6):
    """A tiny valid PNG (default 16-bit RGBA) whose pixels decode to far more than its bytes."""
    bands = {0: 1, 2: 3, 4: 2, 6: 4}[color_type]
    row = b"\x00" * (1 + side * bands * bit_depth // 8)  # filter byte + samples
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, bit_depth, color_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat)
            + _chunk(b"IEND", b""))


def jpeg_markers(data):
    """The marker bytes of a JPEG's segments up to the image data (APPn, COM, DQT …)."""
    assert data[:2] == b"\xff\xd8"
    markers, pos = [], 2
    while pos < len(data):
        assert data[pos] == 0xFF, "not at a marker"
        marker = data[pos + 1]
        markers.append(marker)
        if marker == 0xDA:  # start of scan: the entropy-coded data follows
            return markers
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        pos += 2 + length
    return markers


def make_visit(client, headers, hamlet_id):
    """Push a household and a visit to it as a phone does; returns the visit id."""
    h = household(hamlet_id)
    v = visit(h["id"])
    code, body = push(client, headers, [h, v])
    assert code == 200 and statuses(body) == ["created", "created"], body
    return v["id"]


def put_photo(client, headers, visit_id, photo_id, data, content_type="image/jpeg",
              consent="yes", **extra_headers):
    """PUT a photo; returns the response."""
    sent = {**headers, "Content-Type": content_type, **extra_headers}
    if consent is not None:
        sent["X-Consent"] = consent
    return client.put(f"/api/v1/visits/{visit_id}/photos/{photo_id}", data=data, headers=sent)


@pytest.fixture
def member(client, world):
    """The member's auth headers and a visit of theirs."""
    headers = login(client, world.users["member"])
    return headers, make_visit(client, headers, world.hamlets[0].id)


def photo_row(photo_id):
    """The photo's row as committed now."""
    db.session.rollback()
    return db.session.get(Photo, uuid.UUID(str(photo_id)))


def left_pending(visit_id, data, minutes_ago=60, content_type="image/jpeg"):
    """A photo a dead process left behind: the original and a committed pending row, no job."""
    from datetime import timedelta

    from server.models.types import utcnow
    from server.services import photos

    photo_id = uuid.uuid4()
    sha = hashlib.sha256(data).hexdigest()
    photos.write_atomic(photos.original_path(photo_id, sha), data)
    db.session.add(Photo(id=photo_id, visit_id=uuid.UUID(str(visit_id)), sha256=sha,
                         content_type=content_type, size_bytes=len(data), state="pending",
                         attempts=0, enqueued_at=utcnow() - timedelta(minutes=minutes_ago)))
    db.session.commit()
    return photo_id
