"""Compressed responses (Flask-Compress): the field app's files and the API's JSON.

A phone on prepaid 3G downloads the app shell and the rules on first start, then pulls its
hamlets: text that shrinks four- to sixfold. What is compressed, and what is not:

- JSON, JavaScript, CSS, the manifest, SVG and the PWA's ``index.html``, from 500 bytes up, for a
  client that accepts ``br`` or ``gzip`` (``Vary: Accept-Encoding`` tells caches).
- Not server-rendered HTML pages (the office console, and any page added later): they hold a
  CSRF token next to text the request can put there (filters, form values), which compression
  would turn into a length oracle (BREACH). They are small and read over office broadband.
- Not images, workbooks or other binary downloads (they do not shrink), partial (206) answers,
  or streamed answers over 4 MiB (none today), which pass as they are.

Files are sent by ``send_file`` as streams; those up to 4 MiB are read into memory first so they
get a ``Content-Length`` and their ETag is checked after compression. A compressed answer's ETag
is the plain one with ``:br``/``:gzip`` appended (a strong validator per encoding), and a client
that sends it back in ``If-None-Match`` gets ``304``.
"""
from flask import request
from flask_compress import Compress

BUFFER_LIMIT = 4 * 1024 * 1024
HTML_ALLOWED = frozenset({"web.index"})  # the PWA shell: a static file with no secret in it

compress = Compress()


def init_app(app):
    """Compress the responses described above (after every view and error handler)."""
    app.config["COMPRESS_REGISTER"] = False  # ``_compress`` decides, then lets Compress work
    app.config["COMPRESS_STREAMS"] = False
    compress.init_app(app)
    app.after_request(_compress)


def _compressible(response):
    if response.status_code == 206 or response.mimetype not in compress.compress_mimetypes_set:
        return False
    if response.mimetype == "text/html" and request.endpoint not in HTML_ALLOWED:
        return False
    return True


def _compress(response):
    if not _compressible(response):
        return response
    if response.is_streamed:
        length = response.content_length
        if length is None or length > BUFFER_LIMIT:
            return response
        response.direct_passthrough = False
        response.make_sequence()  # a file of known, bounded size: read it now
    return compress.after_request(response)
