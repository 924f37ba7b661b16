"""What makes an uploaded file unreadable as a whole, said for a person."""

UTF8_BOM, UTF16_BOMS = b"\xef\xbb\xbf", (b"\xff\xfe", b"\xfe\xff")
UNDECODABLE = "{}: cannot be decoded as UTF-8, UTF-16 or Windows-1252"


class UnusableFile(Exception):
    """The file as a whole cannot be read: the message says why, for a person."""
