"""Raw bytes of a delivery → clean text, whatever encoding and line endings it came in."""

from __future__ import annotations

import codecs
import re

# The agency's legacy systems write Windows-1251, rarely KOI8-R; the detector
# picks between them by how Russian the decoded text reads.
LEGACY_ENCODINGS = ["cp1251", "koi8_r"]

# XML 1.0 forbids C0 controls other than tab and newlines, lone surrogates and
# U+FFFE/U+FFFF; C1 controls are allowed but never meaningful in news text and
# the W3C validator warns about them.
_XML_FORBIDDEN = re.compile("[^\t\n\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

# More forbidden characters than this share of the text means it is not text at all.
_MAX_JUNK_SHARE = 0.05


class NotText(ValueError):
    """The bytes do not decode as text in any encoding the agency uses."""


def decode(data: bytes) -> str:
    """Decode, normalise line endings and drop characters XML cannot carry."""
    text = _decode_bytes(data).replace("\r\n", "\n").replace("\r", "\n")
    if _XML_FORBIDDEN.search(text) is None:
        return text  # the usual case: one scan instead of three
    junk = len(_XML_FORBIDDEN.findall(text))
    if junk > max(1, len(text) * _MAX_JUNK_SHARE):
        raise NotText(f"{junk} control characters in {len(text)}")
    return _XML_FORBIDDEN.sub("", text)


def _decode_bytes(data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as error:
            raise NotText(f"broken UTF-16: {error.reason}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    # Imported here: legacy deliveries are rare and the detector costs 15 ms to import.
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=LEGACY_ENCODINGS).best()
    if best is None:
        raise NotText("not UTF-8, and no legacy Cyrillic encoding reads it as text")
    return str(best)
