"""Which bytes count as a photo: our decoders only, whole files, bounded pixels and decoded size.

Shared by the upload (which must answer 422 without decoding a pixel) and the job (which
checks again before it decodes, since an original may predate a limit).
"""
import io
import struct

from PIL import Image, ImageMode

CONTENT_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
FORMATS = tuple(CONTENT_TYPES.values())  # the only decoders Pillow may use on an upload
MIME_OF = {fmt: mime for mime, fmt in CONTENT_TYPES.items()}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"  # the whole IEND chunk: length 0, type, CRC
JPEG_EOI = b"\xff\xd9"
JPEG_PADDING = b"\x00 \t\r\n"  # what some writers leave after the end marker


class BadImage(ValueError):
    """Bytes that are not an image we accept; the message says why."""


def open_image(source, max_pixels):
    """Open with our decoders only and refuse too many pixels before anything is decoded."""
    try:
        img = Image.open(source, formats=FORMATS)
    except Image.DecompressionBombError as err:
        raise BadImage(f"too many pixels ({err})") from None
    except Exception:  # noqa: BLE001 - any parser failure on untrusted bytes means "not an image"
        raise BadImage("not a JPEG, PNG or WebP image") from None
    width, height = img.size
    if width < 1 or height < 1 or width * height > max_pixels:
        img.close()
        raise BadImage(f"{width}x{height} pixels is over the limit of {max_pixels}")
    return img


def fitted(size, edge):
    """``size`` scaled down so its long edge is at most ``edge``."""
    width, height = size
    scale = min(1.0, edge / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def check_decoded_size(img, edge, limit):
    """Refuse ``img`` if decoding it would hold more than ``limit`` bytes; reads the header only.

    A JPEG gets the draft the job decodes it with (libjpeg scales by 1/2..1/8 while the result
    still covers ``edge``), so call this on the image the job is about to load.
    """
    if img.format == "JPEG":
        img.draft("RGB", fitted(img.size, edge))
    width, height = img.size
    bands = len(ImageMode.getmode(img.mode).bands)
    # Count the wider of the mode's samples and the file's: a 16-bit PNG is read 16 bits a sample.
    per_band = max(_mode_bytes(img.mode), _source_bytes(img))
    size = width * height * bands * per_band
    if size > limit:
        raise BadImage(f"{width}x{height} pixels in {img.mode} at {8 * per_band} bits per sample "
                       f"decode to {_mib(size)} MiB, over the limit of {_mib(limit)} MiB")
    return size


def _mode_bytes(mode):
    return int(ImageMode.getmode(mode).typestr[-1])  # '|u1' → 1, '<u2' → 2, '<f4' → 4


def _source_bytes(img):
    for tile in img.tile or ():
        rawmode = tile.args[0] if isinstance(tile.args, tuple) else tile.args
        if isinstance(rawmode, str) and ";16" in rawmode:  # e.g. "RGBA;16B", "I;16B"
            return 2
    return 1


def _mib(size):
    return f"{size / 2 ** 20:.0f}" if size >= 2 ** 20 else f"{size / 2 ** 20:.2f}"


def check_complete(data):
    """Refuse a JPEG, PNG or WebP whose bytes end before the image does; reads the ends only."""
    if data.startswith(b"\xff\xd8\xff"):
        if not data.rstrip(JPEG_PADDING).endswith(JPEG_EOI):
            raise BadImage("the JPEG is incomplete: it does not end with an end-of-image marker")
    elif data.startswith(PNG_SIGNATURE):
        if not data.endswith(PNG_IEND):
            raise BadImage("the PNG is incomplete: it does not end with an IEND chunk")
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        declared = struct.unpack("<I", data[4:8])[0] + 8
        if declared != len(data):
            raise BadImage(f"the WebP's RIFF header declares {declared} bytes but the body has "
                           f"{len(data)}")


def inspect_upload(data, max_pixels, edge, max_decoded):
    """The content type of ``data`` if it is a whole, bounded JPEG/PNG/WebP; else BadImage."""
    check_complete(data)
    with open_image(io.BytesIO(data), max_pixels) as img:
        fmt = img.format
        check_decoded_size(img, edge, max_decoded)
        try:
            img.verify()  # structure and checksums (PNG CRCs); no pixels are decoded
        except Exception:  # noqa: BLE001 - any parser failure on untrusted bytes
            raise BadImage("the image data is damaged") from None
    return MIME_OF[fmt]
