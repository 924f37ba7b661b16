"""Exports inside containers: the table taken out of a .gz or a .zip (the bytes decide, not
the extension), with limits that stop a bomb before it fills memory. Pure."""

from __future__ import annotations

import gzip
import io
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import PurePosixPath

from kpis.imports.ingest.errors import UnusableFile

MAX_UNPACKED = 2 * 1024**3  # bytes after decompression
BOMB_RATIO, BOMB_SIZE = 200, 100 * 1024**2  # refuse ratio > 200:1 once bigger than 100 MB
TABLE_SUFFIXES = (".csv", ".xlsx", ".txt", ".tsv")
ZIP_MAGIC, EMPTY_ZIP_MAGIC, GZIP_MAGIC = b"PK\x03\x04", b"PK\x05\x06", b"\x1f\x8b"


def unpack(data: bytes, label: str, depth: int = 0) -> tuple[bytes, str]:
    """Take the table out of a .gz and/or .zip wrapper; the bytes decide, not the extension."""
    if data[:2] == GZIP_MAGIC and depth == 0:
        return unpack(gunzip(data, label), label, depth=1)
    if data[:4] not in (ZIP_MAGIC, EMPTY_ZIP_MAGIC):
        return data, label
    with zip_open(io.BytesIO(data), label) as archive:
        if is_workbook(archive):
            workbook_check(archive, label)
            return data, label
        if depth == 2:
            raise UnusableFile(f"{label}: is a zip inside a zip; upload the table itself")
        member = zip_member(archive.infolist(), label)
        check_size(member.file_size, member.compress_size, label)
        with member_errors(label):
            data = archive.read(member)
    # depth 2: an .xlsx member is still checked as a workbook, but no further unpacking
    return unpack(data, f"{PurePosixPath(member.filename).name} in {label}", depth=2)


def zip_member(parts: list[zipfile.ZipInfo], label: str) -> zipfile.ZipInfo:
    """The one table file in a zip; folders and macOS resource forks do not count."""
    found = [
        info
        for info in parts
        if not info.is_dir()
        and not info.filename.startswith("__MACOSX/")
        and info.filename.lower().endswith(TABLE_SUFFIXES)
    ]
    if not found:
        raise UnusableFile(f"{label}: holds no .csv, .xlsx, .txt or .tsv file")
    if len(found) > 1:
        # A zip of thousands of members must not become a message of thousands of names.
        names = ", ".join(info.filename for info in found[:5])
        more = f" and {len(found) - 5} more" if len(found) > 5 else ""
        raise UnusableFile(f"{label}: holds {len(found)} tables ({names}{more}); upload one")
    return found[0]


def gunzip(data: bytes, label: str) -> bytes:
    """Inflate in chunks so a bomb is stopped at the limit, not after filling memory."""
    chunks, total = [], 0
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            while chunk := stream.read(1024**2):
                total += len(chunk)
                check_size(total, len(data), label)
                chunks.append(chunk)
    except (OSError, EOFError, zlib.error) as error:
        raise UnusableFile(f"{label}: is a damaged or incomplete .gz file") from error
    return b"".join(chunks)


def check_size(size: int, packed: int, label: str) -> None:
    """Refuse over 2 GiB unpacked, or a ratio over 200:1 past 100 MB (a zip bomb)."""
    if size > MAX_UNPACKED or (size > BOMB_SIZE and size > BOMB_RATIO * max(packed, 1)):
        raise UnusableFile(f"{label}: is too large when unpacked")


def zip_open(source, label: str) -> zipfile.ZipFile:
    """A zip or a workbook (a zip of XML parts), from bytes or a file on disk."""
    try:
        return zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as error:
        raise UnusableFile(f"{label}: is a damaged zip or xlsx file") from error


def is_workbook(archive: zipfile.ZipFile) -> bool:
    return {"[Content_Types].xml", "xl/workbook.xml"} <= set(archive.namelist())


def workbook_check(archive: zipfile.ZipFile, label: str) -> None:
    """The sizes openpyxl will inflate, part by part and in all: a bomb is refused unread."""
    parts = archive.infolist()
    for info in parts:
        check_size(info.file_size, info.compress_size, label)
    check_size(sum(i.file_size for i in parts), sum(i.compress_size for i in parts), label)


@contextmanager
def member_errors(label: str) -> Iterator[None]:
    """Reading a zip's member: what can go wrong, said for a person."""
    try:
        yield
    except RuntimeError as error:  # zipfile's way of saying "encrypted"
        raise UnusableFile(f"{label}: is password-protected; upload it unzipped") from error
    except (zipfile.BadZipFile, NotImplementedError, zlib.error, OSError) as error:
        raise UnusableFile(f"{label}: cannot be unpacked (damaged zip file)") from error
