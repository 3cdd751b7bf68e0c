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


# A Cyrillic lower-case letter straight before an upper-case one is how a
# word reads in the wrong one of the two legacy encodings (`сКАНДАЛ`): each maps
# the other's lower case onto its upper case. Writers never do it, even in names.
_WRONG_CASE = re.compile("[\u0430-\u045f][\u0400-\u042f]")
_ENCODING_NAMES = {"cp1251": "cp1251", "koi8_r": "KOI8-R", "utf-8": "UTF-8"}


class NotText(ValueError):
    """The bytes do not decode as text in any encoding the agency uses."""


class MixedEncodings(ValueError):
    """Some lines read as text only in another encoding than the rest of the file."""

    def __init__(self, line: int, encoding: str, other: str) -> None:
        super().__init__(
            f"line {line} is in {_ENCODING_NAMES[other]}, the rest of the file in "
            f"{_ENCODING_NAMES[encoding]}"
        )
        self.line = line


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
    return _decode_legacy(data)


def _decode_legacy(data: bytes) -> str:
    """One encoding for the whole file, the one its lines read best in; a line that
    reads as text only in another one makes the file mixed, never mojibake."""
    lines = data.split(b"\n")
    readings = {
        encoding: wrong_case
        for encoding in LEGACY_ENCODINGS
        if (wrong_case := _wrong_case_words(lines, encoding)) is not None
    }
    if not readings:
        raise NotText("not UTF-8, and no legacy Cyrillic encoding reads it as text")
    fewest = min(sum(counts) for counts in readings.values())
    candidates = [encoding for encoding, counts in readings.items() if sum(counts) == fewest]
    encoding = candidates[0] if len(candidates) == 1 else _detected(data, candidates)
    for number, line in enumerate(lines, start=1):
        if not line.isascii() and _is_utf8(line):
            raise MixedEncodings(number, encoding, "utf-8")
        for other, counts in readings.items():
            if readings[encoding][number - 1] and not counts[number - 1]:
                raise MixedEncodings(number, encoding, other)
    return data.decode(encoding)


def _wrong_case_words(lines: list[bytes], encoding: str) -> list[int] | None:
    """Per line, how many letter pairs read in the wrong case; None if it does not decode."""
    try:
        return [len(_WRONG_CASE.findall(line.decode(encoding))) for line in lines]
    except UnicodeDecodeError:
        return None


def _is_utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _detected(data: bytes, candidates: list[str]) -> str:
    """When the case of the letters cannot tell (all capitals, say), the detector does."""
    # Imported here: legacy deliveries are rare and the detector costs 15 ms to import.
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=candidates).best()
    if best is None:
        raise NotText("not UTF-8, and no legacy Cyrillic encoding reads it as text")
    return str(best.encoding)
