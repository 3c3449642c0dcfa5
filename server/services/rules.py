"""The input rules the phone applies before it sends anything: ``server.vocab`` plus this
deployment's limits, as one JSON document (``GET /api/v1/rules``)."""
import hashlib
import json

from flask import current_app

from server import vocab


def _text():
    return {field: {"kind": kind, "max": limit} for field, (kind, limit) in vocab.TEXT.items()}


def _numbers():
    bounds = {key: vocab.number_bounds(key) for key in vocab.NUMBERS}
    return {key: {"min": low, "max": high} for key, (low, high) in bounds.items()}


def current_rules():
    """The rules document with its ``version`` (a digest: the phone refetches when it changes)."""
    cfg = current_app.config
    body = {
        "vocab": {
            "item_types": list(vocab.ITEM_TYPES), "outcomes": list(vocab.OUTCOMES),
            "reached_outcomes": list(vocab.REACHED_OUTCOMES), "results": list(vocab.RESULTS),
            "sexes": list(vocab.SEXES), "consent_purposes": list(vocab.CONSENT_PURPOSES),
            "roles": list(vocab.ROLES), "hamlet_kinds": list(vocab.HAMLET_KINDS),
            "photo_types": list(vocab.PHOTO_TYPES), "review_states": list(vocab.REVIEW_STATES),
            "service_units": list(vocab.SERVICE_UNITS),
        },
        "text": _text(),
        "text_kinds": vocab.TEXT_KINDS,
        "bidi_controls": vocab.BIDI_CONTROLS,
        "whitespace": vocab.WHITESPACE,
        "numbers": _numbers(),
        "phone": {"region": vocab.PHONE_REGION, "pattern": vocab.PHONE_PATTERN,
                  "separators": vocab.PHONE_SEPARATORS},
        "dates": {"earliest": vocab.EARLIEST_DATE.isoformat(),
                  "clock_skew_minutes": vocab.CLOCK_SKEW_MINUTES,
                  "follow_up_max_days": vocab.FOLLOW_UP_MAX_DAYS,
                  "utc_offset_hours": vocab.LOCAL_UTC_OFFSET_HOURS},
        "push": {"max_items": cfg["SYNC_MAX_ITEMS"], "max_bytes": cfg["SYNC_MAX_BYTES"],
                 "services_per_visit": vocab.SERVICES_PER_VISIT},
        "pull": {"max_limit": cfg["PULL_MAX_LIMIT"]},
        "photo": {"max_bytes": cfg["PHOTO_MAX_BYTES"], "types": list(vocab.PHOTO_TYPES)},
        "error_codes": vocab.ERROR_CODES,
    }
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:12]
    return {"version": digest, **body}
