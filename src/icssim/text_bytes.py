"""Reading a user's text file from its bytes, with a reason a person can act on when it is not UTF-8.

Scenario, waiting-list, demand-profile and draw files are text. Spreadsheet and editor defaults
save them otherwise: Windows Notepad's "Unicode" is UTF-16 (every other byte NUL), and Excel's
"CSV" on Windows is Windows-1252 (a pound sign is the single byte 0xa3). Each reader keeps its own
message; this says what the bytes are and what to do.
"""

from __future__ import annotations

import codecs

#: How to mend a file in another encoding, for every message below.
SAVE_AS_UTF8 = "save it again as UTF-8 (an editor's 'UTF-8' encoding; Excel's 'CSV UTF-8')"


def decode(data: bytes) -> tuple[str | None, str]:
    """``(text, "")`` for UTF-8 (a byte-order mark dropped), else ``(None, why)``: UTF-16 or UTF-32
    (by its byte-order mark, or NUL bytes in every other place), binary (other NUL bytes), or the
    line and byte that is not UTF-8, with the character it is in Windows-1252 when it is one."""
    wide = _wide(data)
    if wide:
        return None, f"it is saved as {wide}, not UTF-8: {SAVE_AS_UTF8}"
    if b"\x00" in data:
        return None, "it is binary (it contains NUL bytes)"
    try:
        return data.decode("utf-8-sig"), ""
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        byte = data[exc.start]
        windows = bytes([byte]).decode("cp1252", errors="replace")
        seen = f", {windows!r} in Windows-1252" if windows.isprintable() and windows != "\ufffd" else ""
        return None, f"it is not UTF-8 text (line {line}: byte {byte:#04x}{seen}): {SAVE_AS_UTF8}"


def _wide(data: bytes) -> str:
    """'UTF-16' or 'UTF-32' when ``data`` is text in one of them, else ''."""
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "UTF-32"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "UTF-16"
    sample = data[:400]
    if len(sample) >= 8 and (sample[1::2].count(0) > 0.9 * len(sample[1::2]) or
                             sample[0::2].count(0) > 0.9 * len(sample[0::2])):
        return "UTF-16"
    return ""
