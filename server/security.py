"""Security headers on every response, and no caching of anything that holds personal data.

The PWA (``static/``) loads only its own modules, styles, icons and manifest, talks only to this
origin, and shows photo previews from ``blob:`` URLs; it has no inline scripts, so the policy can
forbid them. Its DOM helper sets a few ``style`` attributes (spacing only), which is the one
inline thing allowed (``style-src-attr``; a browser without it just loses that spacing).
"""
from flask import request

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' blob: data:",
    "connect-src 'self'",
    "worker-src 'self'",
    "manifest-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    # The field app takes photos (file input with capture) and GPS fixes; nothing else.
    "Permissions-Policy": "camera=(self), geolocation=(self), microphone=(), payment=(), usb=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}

# Headers that govern a document (or a worker, through its main script) and are ignored on the
# modules, stylesheets, icons and manifest a page loads: left off those files, they would add
# about half a kilobyte to each of the ~60 responses of a phone's first start on prepaid 3G.
DOCUMENT_ONLY = ("Content-Security-Policy", "X-Frame-Options", "Permissions-Policy",
                 "Cross-Origin-Opener-Policy")
# The app's own fixed files (never user content; photos are API answers with every header).
SUBRESOURCE_ENDPOINTS = frozenset({"web.root_file", "web.asset", "office.static_file",
                                   "province.static_file", "static"})

# Endpoints whose answers hold personal data: never stored by a browser or a proxy, whatever the
# view said (a photo view's own caching is overridden: a shared phone must not keep it).
PERSONAL_ENDPOINTS = frozenset({
    "auth.Token", "auth.me", "sync.push", "sync.pull", "visits.list_visits",
    "photos.put_photo", "photos.get_photo", "photos.get_thumb",
})


def _cache_control(response):
    current = response.headers.get("Cache-Control", "")
    if request.endpoint in PERSONAL_ENDPOINTS:
        # ETag/Last-Modified stay: without storage they cost nothing and harm nothing.
        return "private, no-store" if "private" in current else "no-store"
    if request.path.startswith("/api/") and not current:
        return "no-store"  # API answers are per-user unless a view says otherwise
    return current or None


def add_security_headers(response):
    """Set the security headers (views may have set their own) and the API's caching rule."""
    subresource = request.endpoint in SUBRESOURCE_ENDPOINTS and response.status_code < 400
    # A 304 of an app file only says "the copy you hold is current": the browser keeps that
    # copy's headers (nosniff and the rest), so repeating them would be bytes for nothing.
    revalidated = subresource and response.status_code == 304
    for name, value in HEADERS.items():
        if not (revalidated or (subresource and name in DOCUMENT_ONLY)):
            response.headers.setdefault(name, value)
    cache_control = _cache_control(response)
    if cache_control:
        response.headers["Cache-Control"] = cache_control
        if "no-store" in cache_control:
            response.headers.pop("Expires", None)
    return response


def init_app(app):
    """Register the header hook on ``app``."""
    app.after_request(add_security_headers)
