"""Where attachment bytes live: a local directory or an S3-compatible bucket, behind one interface.

`ATTACHMENT_STORAGE` (local | s3) chooses where new files go. Every attachment row records the
backend that holds it, so files written before a switch stay readable: the local directory is
always available, and the bucket whenever `S3_BUCKET` is set. The backends are built once, when
the attachments blueprint is registered, so a bad setting stops the app at start-up.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from flask import Flask, current_app

from service_app.common.time import utcnow

CHUNK_BYTES = 64 * 1024
KINDS = ("local", "s3")


class Storage(Protocol):
    """A place for immutable blobs addressed by key."""

    name: str

    def save(self, key: str, source: BinaryIO, *, content_type: str) -> None:
        """Store everything `source` yields under `key`; nothing stays behind if reading fails."""

    def open(self, key: str) -> BinaryIO:
        """A readable stream of the blob; FileNotFoundError when it is not there."""

    def delete(self, key: str) -> None:
        """Remove the blob; a missing blob is not an error."""

    def exists(self, key: str) -> bool: ...


class LocalStorage:
    """Files under ATTACHMENT_DIR; written to a temporary name, then renamed, so readers never see half a file."""

    name = "local"

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root):
            raise ValueError(f"storage key escapes the attachment directory: {key!r}")
        return path

    def save(self, key: str, source: BinaryIO, *, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(source, out, CHUNK_BYTES)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def open(self, key: str) -> BinaryIO:
        return open(self._path(key), "rb")

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()


class S3Storage:
    """Objects in one bucket of S3 or an S3-compatible service (MinIO, Ceph, OSS/COS gateways)."""

    name = "s3"

    def __init__(self, *, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> S3Storage:
        import boto3
        from botocore.config import Config

        if not config.get("S3_BUCKET"):
            raise RuntimeError("ATTACHMENT_STORAGE=s3 needs S3_BUCKET (and S3_ENDPOINT_URL for a non-AWS service)")
        endpoint = config.get("S3_ENDPOINT_URL")
        client = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint,
            region_name=config.get("S3_REGION"),
            aws_access_key_id=config.get("S3_ACCESS_KEY_ID"),
            aws_secret_access_key=config.get("S3_SECRET_ACCESS_KEY"),
            # Self-hosted services are usually reached by address, where bucket subdomains do not resolve.
            config=Config(
                s3={"addressing_style": "path" if endpoint else "auto"},
                connect_timeout=5,
                read_timeout=30,
                retries={"mode": "standard", "max_attempts": 3},
            ),
        )
        return cls(client=client, bucket=config["S3_BUCKET"])

    def save(self, key: str, source: BinaryIO, *, content_type: str) -> None:
        from boto3.s3.transfer import TransferConfig

        # In the calling thread, so an error raised while reading the upload (too large) surfaces
        # here unchanged; a failed multipart upload is aborted by the transfer manager.
        self.client.upload_fileobj(
            source, self.bucket, key, ExtraArgs={"ContentType": content_type}, Config=TransferConfig(use_threads=False)
        )

    def open(self, key: str) -> BinaryIO:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        except self.client.exceptions.NoSuchKey:
            raise FileNotFoundError(key) from None

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
        return True


def build(config: dict[str, Any]) -> dict[str, Storage]:
    """The backends these settings make available, by name."""
    kind = config.get("ATTACHMENT_STORAGE")
    if kind not in KINDS:
        raise RuntimeError(f"ATTACHMENT_STORAGE must be one of {', '.join(KINDS)}, not {kind!r}")
    storages: dict[str, Storage] = {"local": LocalStorage(config["ATTACHMENT_DIR"])}
    if kind == "s3" or config.get("S3_BUCKET"):
        storages["s3"] = S3Storage.from_config(config)
    return storages


def init_app(app: Flask) -> None:
    app.extensions["attachment_storages"] = build(app.config)


def for_writing() -> Storage:
    """The backend new uploads go to (ATTACHMENT_STORAGE)."""
    return current_app.extensions["attachment_storages"][current_app.config["ATTACHMENT_STORAGE"]]


def for_reading(name: str) -> Storage:
    """The backend that holds an attachment stored under `name`."""
    storage = current_app.extensions["attachment_storages"].get(name)
    if storage is None:
        raise RuntimeError(f"attachments are stored in {name!r}, which is not configured")
    return storage


def new_key() -> str:
    """A random key that says nothing about the file; the month prefix keeps directories small."""
    return f"{utcnow():%Y/%m}/{secrets.token_hex(16)}"
