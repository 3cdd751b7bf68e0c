"""Text from outside (file names, file content, exception messages) made safe to show.

A file name may hold a newline, which would forge a second log line, or an
ANSI escape, which clears the terminal running `feeder status`. Control
characters and the invisible bidirectional overrides (which reorder what a
person reads) are shown as escapes; everything else, Cyrillic included, as it is.
"""

from __future__ import annotations

import re

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` with every control character escaped, so it stays on one line."""
    return _UNSAFE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    character = match.group()
    if character in _NAMED:
        return _NAMED[character]
    code = ord(character)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
