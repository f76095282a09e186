"""Text that comes from outside (ONNX names, doc strings, file paths, board names) as C text.

Whitelists, not blacklists: a model is untrusted input, and a name that closes a comment or a
string literal is code injection (a lone CR ends a line for GCC; `??/` is a backslash under
-std=c11; a backslash at the end of a line splices the next one). So:

- c_comment() keeps printable ASCII except the backslash and any pair that could open or close
  a comment (`/*`, `*/`) or start a trigraph (`??`); everything else becomes the plain text
  `<U+XXXX>`, which holds no character that means anything in a comment. Bidi controls,
  NUL, CR, LF and non-ASCII letters all take that form, so -Wbidi-chars and -Wtrigraphs
  have nothing to warn about.
- c_string() is the body of a C string literal: printable ASCII except `"`, `\\` and `?`;
  every other byte of the UTF-8 encoding is a three-digit octal escape (octal, not hex: a
  hex escape would swallow the hex digits that follow it).
- c_identifier() maps any text onto [A-Za-z0-9_], prefixed so that it cannot be a keyword,
  start with a digit or collide with the reserved `_[A-Z]` / `__` names.
"""

from __future__ import annotations

import re

_PRINTABLE = frozenset(chr(c) for c in range(0x20, 0x7F))
_COMMENT_UNSAFE = frozenset("\\")
_STRING_UNSAFE = frozenset('"\\?')
# `*` and `/` are kept alone but never next to each other, nor at either end of the text (the
# template around it may put a `/` or `*` right there)
_PAIRS = {("*", "/"), ("/", "*"), ("?", "?")}


def _escape(ch: str) -> str:
    return f"<U+{ord(ch):04X}>"


def c_comment(text: object) -> str:
    """``text`` (any object; str() of it) as inert text inside /* ... */."""
    out: list[str] = []
    s = str(text)
    for i, ch in enumerate(s):
        prev = s[i - 1] if i else ""
        if ch not in _PRINTABLE or ch in _COMMENT_UNSAFE:
            out.append(_escape(ch))
        elif (prev, ch) in _PAIRS and out and out[-1] == prev:
            out.append(_escape(ch))
        elif ch in "*/" and (i == 0 or i == len(s) - 1):
            out.append(_escape(ch))
        else:
            out.append(ch)
    return "".join(out)


def c_string(text: object) -> str:
    """``text`` as the body of a C string literal (without the quotes)."""
    out: list[str] = []
    for ch in str(text):
        if ch in _PRINTABLE and ch not in _STRING_UNSAFE:
            out.append(ch)
        else:
            out.extend(f"\\{b:03o}" for b in ch.encode("utf-8", "surrogatepass"))
    return "".join(out)


_NON_IDENT = re.compile(r"[^A-Za-z0-9]+")


def c_identifier(text: object, prefix: str = "mf_") -> str:
    """A C identifier made of ``prefix`` and the ASCII letters and digits of ``text``."""
    body = _NON_IDENT.sub("_", str(text)).strip("_")
    return prefix + (body or "x")


def safe_terminal(text: object) -> str:
    """``text`` for a terminal line: control characters (ANSI escapes, CR, bidi controls)
    shown as <U+XXXX> so that a name cannot rewrite what the user sees."""
    return "".join(_escape(ch) if (not ch.isprintable() and ch != " ") else ch for ch in str(text))
