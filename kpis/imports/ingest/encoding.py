"""The text encoding of an uploaded export: UTF-8 (with or without a mark), UTF-16 (with or
without a mark), Windows-1252, or lines of both (two exports pasted together). Pure."""

from __future__ import annotations

import codecs
import re

from kpis.imports.ingest.errors import UNDECODABLE, UTF8_BOM, UTF16_BOMS, UnusableFile


def as_utf8(data: bytes, label: str) -> tuple[bytes, str]:
    """UTF-8 bytes for polars plus the encoding found; valid UTF-8 is passed on without a copy."""
    utf16 = "utf-16" if data[:2] in UTF16_BOMS else utf16_without_bom(data)
    if utf16:
        try:
            text = data.decode(utf16)
        except UnicodeDecodeError as error:
            raise UnusableFile(f"{label}: cannot be decoded as UTF-16") from error
        if "\x00" in text:
            raise UnusableFile(_nul_message(text.encode(), label))
        return text.encode(), "utf-16"
    if b"\x00" in data:
        raise UnusableFile(_nul_message(data, label))
    bom = data[:3] == UTF8_BOM
    if data.isascii() or _is_utf8(data):
        return data, "utf-8-sig" if bom else "utf-8"  # polars skips the BOM itself
    if bom:  # marked as UTF-8 but is not: no better guess left
        raise UnusableFile(UNDECODABLE.format(label))
    try:
        # Python's cp1252 rejects the five undefined bytes (0x81 0x8D 0x8F 0x90 0x9D).
        return data.decode("cp1252").encode(), "cp1252"
    except UnicodeDecodeError as error:
        raise UnusableFile(UNDECODABLE.format(label)) from error


def utf16_without_bom(data: bytes) -> str | None:
    """utf-16-le or -be when the start looks like text saved as UTF-16 without a mark: most of
    every other byte NUL (Latin text), the bytes between them almost never. Binary data does not
    look like that."""
    head = data[:4096]
    if len(head) < 4 or len(data) % 2:
        return None
    even, odd = head[0::2], head[1::2]
    for encoding, high, low in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if high.count(0) >= 0.7 * len(high) and low.count(0) <= 0.05 * len(low):
            return encoding
    return None


def _nul_message(data: bytes, label: str) -> str:
    """NUL bytes: a table of text has none. Say where the first is: a stray one can be fixed."""
    line = data.count(b"\n", 0, data.index(b"\x00")) + 1
    return f"{label}: not a table (binary data: a NUL byte on line {line})"


# A UTF-8 multi-byte sequence: in Windows-1252 text these byte pairs are rare ("Ã©").
_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


def mixed_lines(data: bytes, label: str) -> tuple[bytes, str] | None:
    """A file that is not UTF-8 as a whole but has UTF-8 lines (two exports pasted together):
    each line in the encoding it reads in, and a note naming the first Windows-1252 line."""
    if not _UTF8_SEQUENCE.search(data):  # C speed; the per-line pass is for the rare mixed file
        return None
    lines, first_cp1252 = [], None
    for number, line in enumerate(data.split(b"\n"), start=1):
        try:
            lines.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            try:
                lines.append(line.decode("cp1252"))
            except UnicodeDecodeError as error:
                raise UnusableFile(UNDECODABLE.format(label)) from error
            first_cp1252 = first_cp1252 or number
    note = (
        f"the file mixes encodings: lines in UTF-8 were read as UTF-8, the others (the first on "
        f"line {first_cp1252}) as Windows-1252; check their accented letters"
    )
    return "\n".join(lines).encode(), note


def _is_utf8(data: bytes) -> bool:
    """Validate in slices, so a large file is never held as a decoded str as well."""
    decoder, view = codecs.getincrementaldecoder("utf-8")(), memoryview(data)
    try:
        for start in range(0, len(view), 16 * 1024**2):
            decoder.decode(view[start : start + 16 * 1024**2])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True
