"""Factories and sample files for the attachments and notifications tests, and the storage fixtures."""

from __future__ import annotations

import socket
import struct
import uuid
import zlib

import factory
import pytest

from service_app.attachments import storage
from service_app.notifications.models import Notification
from tests.factories import Base, UserFactory
from tests.factories_stats import ProblemFactory  # noqa: F401  (re-exported for the attachment tests)
from tests.factories_visits import VisitFactory  # noqa: F401


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
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"") + b"\x00" * padding


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"
WEBP = b"RIFF" + struct.pack("<I", 30) + b"WEBPVP8 " + struct.pack("<I", 18) + b"\x00" * 18
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 32
HEIF_10BIT = b"\x00\x00\x00\x18ftypheix\x00\x00\x00\x00mif1heix" + b"\x00" * 32
AVIF = b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + b"\x00" * 32
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 44 + b"\x80\x00\x00\x00" + b"\x00" * 64 + b"PE\x00\x00"
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56
TEXT = "这不是图片，只是一段文字。\nnot an image\n".encode()
HTML = b"<!DOCTYPE html><html><script>alert(1)</script></html>"


# --- storage backends: the local directory, and S3 through a real HTTP peer (moto's server) ---

@pytest.fixture(scope="session")
def s3_endpoint():
    """A local S3-compatible HTTP endpoint (moto's threaded server on a free loopback port)."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(params=["local", "s3"])
def store(request, app, tmp_path):
    """Install a fresh backend of each kind as the app's upload storage for one test."""
    kind = request.param
    config = {**app.config, "ATTACHMENT_STORAGE": kind, "ATTACHMENT_DIR": str(tmp_path / "attachments")}
    if kind == "s3":
        config.update(
            S3_ENDPOINT_URL=request.getfixturevalue("s3_endpoint"),
            S3_BUCKET=f"attachments-{uuid.uuid4().hex[:12]}",
            S3_REGION="us-east-1",
            S3_ACCESS_KEY_ID="test-key",
            S3_SECRET_ACCESS_KEY="test-secret",
        )
    storages = storage.build(config)
    if kind == "s3":
        storages["s3"].client.create_bucket(Bucket=config["S3_BUCKET"])
    saved = app.extensions["attachment_storages"], app.config["ATTACHMENT_STORAGE"]
    app.extensions["attachment_storages"], app.config["ATTACHMENT_STORAGE"] = storages, kind
    try:
        yield storages[kind]
    finally:
        app.extensions["attachment_storages"], app.config["ATTACHMENT_STORAGE"] = saved


def stored_keys(backend) -> set[str]:
    """Every blob a backend holds (to prove nothing was left behind)."""
    if isinstance(backend, storage.LocalStorage):
        if not backend.root.exists():
            return set()
        return {str(path.relative_to(backend.root)) for path in backend.root.rglob("*") if path.is_file()}
    listing = backend.client.list_objects_v2(Bucket=backend.bucket)
    return {item["Key"] for item in listing.get("Contents", [])}
