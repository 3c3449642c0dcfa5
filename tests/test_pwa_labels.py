"""Every stable rejection code the server can send (server/vocab.py ERROR_CODES) has a Vietnamese
label in the PWA (static/app/labels.js CODES): the sync screen never falls back to English for a
known code. Reads labels.js as text: no browser, no Node."""
import re
from pathlib import Path

from server.vocab import ERROR_CODES

LABELS = Path(__file__).resolve().parent.parent / "static" / "app" / "labels.js"
VIETNAMESE = re.compile(r"[àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ]",
                        re.IGNORECASE)


def _codes():
    """The CODES object of labels.js as {code: label}."""
    source = LABELS.read_text(encoding="utf-8")
    block = re.search(r"export const CODES = \{(.*?)\n\};", source, re.S)
    assert block, "labels.js has no `export const CODES = {...};`"
    entries = re.findall(r"^\s*'?(\w+)'?\s*:\s*'((?:[^'\\]|\\.)*)',?\s*$", block.group(1), re.M)
    assert entries, "CODES is empty or not one `code: 'label',` per line"
    return dict(entries)


def test_every_error_code_has_a_vietnamese_label():
    labels = _codes()
    missing = sorted(set(ERROR_CODES) - set(labels))
    assert not missing, f"add Vietnamese labels to static/app/labels.js CODES for: {missing}"


def test_labels_are_vietnamese_text_not_copies_of_the_english():
    labels = _codes()
    for code in ERROR_CODES:
        label = labels[code].strip()
        assert label, code
        assert label != ERROR_CODES[code], f"{code}: the label is the English text"
        assert VIETNAMESE.search(label), f"{code}: {label!r} has no Vietnamese letter (missing diacritics?)"
