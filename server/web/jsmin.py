"""JavaScript minified with ``rjsmin``, template literals kept byte for byte.

``rjsmin`` keeps a template literal as written only when it holds no other: in
``${a ? ` (${b})` : ''}`` it takes the inner backticks for the outer literal's end and squeezes
the text between them as code (`` ` (` `` became `` `(` ``: a visible space lost). So every
outermost template literal (nested ones and all) is swapped for a placeholder string first and
put back after. Finding them needs only strings, comments, regular expressions and templates
told apart (``template_spans``); where the scan cannot be sure, the file is sent unminified.
"""
import re

import rjsmin

# A `/` after one of these (or these words) starts a regular expression, else it divides.
_REGEX_AFTER = set("(,=:[!&|?{};+-*%<>~^")
_REGEX_WORDS = {"return", "typeof", "case", "do", "else", "in", "of", "void", "yield", "await",
                "delete", "instanceof", "new", "throw"}
_WORD = re.compile(r"[\w$]+")


def _skip_string(text, i):
    quote, n = text[i], len(text)
    i += 1
    while i < n and text[i] != quote:
        if text[i] == "\n":
            return None  # an unterminated string: not code this scan understands
        i += 2 if text[i] == "\\" else 1
    return i + 1 if i < n else None


def _skip_regex(text, i):
    n, in_class = len(text), False
    i += 1
    while i < n and (in_class or text[i] != "/"):
        if text[i] == "\n":
            return None
        if text[i] == "\\":
            i += 1
        elif text[i] == "[":
            in_class = True
        elif text[i] == "]":
            in_class = False
        i += 1
    return i + 1 if i < n else None


def template_spans(text):
    """``[(start, end)]`` of every outermost template literal, or None when unsure."""
    spans, stack, depth = [], [], []  # stack: "T" in a template's text, "E" in its ${...}
    i, n, last, word, start = 0, len(text), "", "", None
    while i < n:
        c = text[i]
        if stack and stack[-1] == "T":
            if c == "\\":
                i += 2
            elif c == "`":
                stack.pop()
                i += 1
                last, word = "`", ""
                if not stack:
                    spans.append((start, i))
            elif text.startswith("${", i):
                stack.append("E")
                depth.append(0)
                i += 2
                last, word = "{", ""
            else:
                i += 1
            continue
        if text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                return None
            i = end + 2
        elif c in "'\"":
            i = _skip_string(text, i)
            if i is None:
                return None
            last, word = c, ""
        elif c == "`":
            if not stack:
                start = i
            stack.append("T")
            i += 1
        elif c == "/" and (last == "" or last in _REGEX_AFTER or word in _REGEX_WORDS):
            i = _skip_regex(text, i)
            if i is None:
                return None
            last, word = "/", ""
        elif c.isalnum() or c in "_$":
            word = _WORD.match(text, i).group(0)
            i += len(word)
            last = "a"
        else:
            if stack and c == "{":
                depth[-1] += 1
            elif stack and c == "}":
                if depth[-1] == 0:
                    stack.pop()
                    depth.pop()
                    i += 1
                    last, word = "`", ""  # back in the template's text
                    continue
                depth[-1] -= 1
            if not c.isspace():
                last, word = c, ""
            i += 1
    return spans if not stack else None


def minify(text):
    """``text`` minified, its template literals untouched; ``text`` itself when unsure."""
    spans = template_spans(text)
    if spans is None:
        return text
    marker = "tpl"
    while marker in text:
        marker += "_"
    pieces, kept, at = [], [], 0
    for start, end in spans:
        pieces.append(text[at:start])
        pieces.append(f'"{marker}{len(kept)}"')
        kept.append(text[start:end])
        at = end
    pieces.append(text[at:])
    out = rjsmin.jsmin("".join(pieces))
    restored = re.sub(rf'"{marker}(\d+)"', lambda m: kept[int(m.group(1))], out)
    if len(re.findall(rf'"{marker}\d+"', out)) != len(kept):
        return text  # a placeholder lost or doubled: never send code that may differ
    return restored
