"""What an upload is, judged by its bytes, and the name it may be shown under.

The type comes from the file's magic numbers (the `filetype` package), never from the client's file
name or declared Content-Type: a PNG called `scan.pdf` is a PNG, and an executable called
`photo.jpg` is refused. The client's file name is only metadata; it is cleaned before it is kept.
"""

from __future__ import annotations

import os
import unicodedata
from typing import BinaryIO

import filetype
from filetype.types.isobmff import IsoBmff

from service_app.common.i18n import bilingual
from service_app.errors import UnsupportedMediaType, ValidationFailed

# filetype inspects at most this many leading bytes.
SNIFF_BYTES = 8192
MAX_FILENAME_CHARS = 160
DEFAULT_STEM = "attachment"

# Detected type -> extensions that honestly name it (the first is the one we add).
ALLOWED: dict[str, tuple[str, ...]] = {
    "image/jpeg": (".jpg", ".jpeg", ".jpe", ".jfif"),
    "image/png": (".png",),
    "image/webp": (".webp",),
    "image/heic": (".heic", ".heif"),
    "image/heif": (".heif", ".heic"),
    "application/pdf": (".pdf",),
}
_KNOWN_EXTENSIONS = {ext for extensions in ALLOWED.values() for ext in extensions}


class _HeifStill(IsoBmff):
    """HEIF brands that filetype's own HEIC matcher leaves out.

    iPhones write `heic`, which filetype knows; Android cameras and editors also write 10-bit
    `heix`, image sequences (`hevc`, `hevx`, `heim`, `heis`, `hevm`, `hevs`) and plain `mif1`/`msf1`
    files. It runs after filetype's matchers, so AVIF (`mif1` + `avif`) is still recognised as AVIF.
    """

    BRANDS = frozenset({"heix", "hevc", "hevx", "heim", "heis", "hevm", "hevs", "mif1", "msf1"})

    def __init__(self) -> None:
        super().__init__(mime="image/heif", extension="heif")

    def match(self, buf) -> bool:
        if not self._is_isobmff(buf):
            return False
        major_brand, _minor, _compatible = self._get_ftyp(buf)
        return major_brand in self.BRANDS


_MATCHERS = (*filetype.types, _HeifStill())


def read_head(stream: BinaryIO) -> bytes:
    """The first SNIFF_BYTES of `stream` (fewer only at the end of the file)."""
    head = b""
    while len(head) < SNIFF_BYTES:
        chunk = stream.read(SNIFF_BYTES - len(head))
        if not chunk:
            break
        head += chunk
    return head


def detect_type(head: bytes) -> str:
    """The MIME type of an upload from its first bytes; 422 when empty, 415 when not allowed."""
    if not head:
        raise ValidationFailed(errors={"file": [bilingual("文件为空", "The file is empty")]})
    kind = filetype.match(head, matchers=_MATCHERS)
    if kind is not None and kind.mime in ALLOWED:
        return kind.mime
    detected = kind.mime if kind is not None else None
    raise UnsupportedMediaType(
        "unsupported_file_type",
        zh="仅支持 JPEG、PNG、WebP、HEIC 图片和 PDF 文件",
        en="Only JPEG, PNG, WebP and HEIC images and PDF documents are accepted",
        errors={"file": [bilingual("文件类型不支持", "File type not accepted")]},
        extra={"allowed": sorted(ALLOWED), "detected": detected},
    )


def safe_filename(raw: str | None, content_type: str) -> str:
    """The client's file name without path, control or reserved characters, ending in an honest extension.

    Chinese names stay as they are. An extension that claims another type (`scan.pdf` for a PNG)
    is replaced; any other extension is kept and the right one appended.
    """
    name = unicodedata.normalize("NFC", raw or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    # Categories C*: control characters, and format characters such as U+202E (right-to-left
    # override), which can make "gpj.exe" read as "exe.jpg".
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C"))
    name = name.translate({ord(ch): "_" for ch in '"<>:|?*;'})
    name = " ".join(name.split()).strip(" .")
    stem, ext = os.path.splitext(name)
    if ext.lower() not in ALLOWED[content_type]:
        stem, ext = (stem if ext.lower() in _KNOWN_EXTENSIONS else name), ALLOWED[content_type][0]
    stem = stem.strip(" .")[: MAX_FILENAME_CHARS - len(ext)] or DEFAULT_STEM
    return stem + ext


def ascii_fallback(filename: str, attachment_id: int) -> str:
    """A plain-ASCII name for clients that ignore RFC 5987's `filename*` (NFKD, then drop the rest)."""
    stem, ext = os.path.splitext(filename)
    simple = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    simple = "".join(ch for ch in simple if ch.isalnum() or ch in "-_. ").strip(" .")
    return (simple or f"{DEFAULT_STEM}-{attachment_id}") + ext
