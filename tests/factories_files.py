"""Factories and sample files for the attachments and notifications tests."""

from __future__ import annotations

import struct
import zlib

import factory

from service_app.attachments import storage
from service_app.notifications.models import Notification
from tests.factories import Base, UserFactory


class NotificationFactory(Base):
    class Meta:
        model = Notification

    user_id = factory.LazyFunction(lambda: UserFactory().id)
    kind = "submitted"
    params = factory.Sequence(lambda n: {"code": f"WT{n:08d}", "title": f"园区路灯不亮 {n}"})


# --- sample files: real headers, so detection sees what a phone or scanner would send ---------

def png_bytes(padding: int = 0) -> bytes:
    """A valid 1×1 PNG; `padding` bytes after IEND make it bigger without changing its type."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"") + b"\x00" * padding
    )


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"
WEBP = b"RIFF" + struct.pack("<I", 30) + b"WEBPVP8 " + struct.pack("<I", 18) + b"\x00" * 18
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 32
HEIF_10BIT = b"\x00\x00\x00\x18ftypheix\x00\x00\x00\x00mif1heix" + b"\x00" * 32
AVIF = b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + b"\x00" * 32
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
EXE = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
    + b"\x00" * 44
    + b"\x80\x00\x00\x00"
    + b"\x00" * 64
    + b"PE\x00\x00"
)
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56
TEXT = "这不是图片，只是一段文字。\nnot an image\n".encode()
HTML = b"<!DOCTYPE html><html><script>alert(1)</script></html>"


# --- storage backends (the `store` and `s3_endpoint` fixtures are in conftest.py) ----------------


def stored_keys(backend) -> set[str]:
    """Every blob a backend holds (to prove nothing was left behind)."""
    if isinstance(backend, storage.LocalStorage):
        if not backend.root.exists():
            return set()
        return {str(path.relative_to(backend.root)) for path in backend.root.rglob("*") if path.is_file()}
    listing = backend.client.list_objects_v2(Bucket=backend.bucket)
    return {item["Key"] for item in listing.get("Contents", [])}
