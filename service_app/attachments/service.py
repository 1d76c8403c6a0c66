"""Attachments: storing uploads, deciding who may read them, and claiming them for a problem or visit."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import BinaryIO

from flask import Flask, current_app
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from service_app.attachments import content, storage
from service_app.attachments.models import Attachment
from service_app.auth.models import User
from service_app.common.i18n import bilingual
from service_app.common.transactions import commit
from service_app.errors import NotFound, PayloadTooLarge, ValidationFailed
from service_app.extensions import db

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DocumentRules:
    """Who may see what an attachment documents: (actor, problem or visit id) -> bool.

    Those rules belong to problems and visits, above attachments in the layers; `create_app` hands
    them in through `init_app`, so this package never imports its users.
    """

    can_view_problem: Callable[[User, int], bool]
    can_view_visit: Callable[[User, int], bool]


def init_app(app: Flask, *, rules: DocumentRules) -> None:
    """Build the storage backends (a bad setting fails at start-up) and keep the document rules."""
    storage.init_app(app)
    app.extensions["attachment_rules"] = rules


def too_large(limit: int) -> PayloadTooLarge:
    """The 413 for an upload over ATTACHMENT_MAX_BYTES, whether the body or the file gave it away."""
    size = _readable_size(limit)
    return PayloadTooLarge(
        zh=f"文件不能超过 {size}",
        en=f"The file must not exceed {size}",
        errors={"file": [bilingual(f"文件过大（上限 {size}）", f"Too large (limit {size})")]},
        extra={"max_bytes": limit},
    )


def _readable_size(size: int) -> str:
    for unit, factor in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= factor:
            return f"{size / factor:.3g} {unit}"
    return f"{size} B"


class MeteredReader:
    """Reads an upload for a storage backend, hashing and counting as the bytes go by.

    The sniffed head is served first; past `limit` bytes it raises 413, so an oversized file is
    never stored whole, and its hash is known the moment the copy ends, without a second pass.
    """

    def __init__(self, head: bytes, rest: BinaryIO, *, limit: int) -> None:
        self._head, self._rest, self._limit = head, rest, limit
        self._digest = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(storage.CHUNK_BYTES), b""))
        if self._head:
            chunk, self._head = self._head[:size], self._head[size:]
        else:
            chunk = self._rest.read(size)
        self.size += len(chunk)
        if self.size > self._limit:
            raise too_large(self._limit)
        self._digest.update(chunk)
        return chunk

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()


def upload(*, owner_id: int, file: FileStorage) -> Attachment:
    """Store an upload checked by content: the file first, then its row; a failed commit removes the file.

    So a row never points at a missing file; a crash between the two leaves at most an
    unreferenced file, which costs space, not correctness.
    """
    head = content.read_head(file.stream)
    content_type = content.detect_type(head)
    backend = storage.for_writing()
    key = storage.new_key()
    reader = MeteredReader(head, file.stream, limit=current_app.config["ATTACHMENT_MAX_BYTES"])
    try:
        backend.save(key, reader, content_type=content_type)
    except BaseException:
        _discard(backend, key)
        raise
    attachment = Attachment(
        owner_id=owner_id,
        storage=backend.name,
        storage_key=key,
        filename=content.safe_filename(file.filename, content_type),
        content_type=content_type,
        size=reader.size,
        sha256=reader.sha256,
    )
    db.session.add(attachment)
    commit(undo=partial(_discard, backend, key))
    return attachment


def _discard(backend: storage.Storage, key: str) -> None:
    """Best-effort removal after a failure; the original error is the one to report."""
    try:
        backend.delete(key)
    except Exception:  # noqa: BLE001 - never mask the failure that brought us here
        log.exception("attachment_cleanup_failed", extra={"storage": backend.name, "storage_key": key})


def may_view(actor: User, attachment: Attachment) -> bool:
    """Its uploader, and whoever may see the problem or the visit it documents."""
    if attachment.owner_id == actor.id:
        return True
    rules: DocumentRules = current_app.extensions["attachment_rules"]
    if attachment.problem_id is not None and rules.can_view_problem(actor, attachment.problem_id):
        return True
    return attachment.visit_id is not None and rules.can_view_visit(actor, attachment.visit_id)


def get_visible_attachment(actor: User, attachment_id: int) -> Attachment:
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or not may_view(actor, attachment):
        raise NotFound()
    return attachment


def open_content(attachment: Attachment) -> BinaryIO:
    """A stream of the stored bytes. A row without its file is an operations fault: logged, answered 404."""
    try:
        return storage.for_reading(attachment.storage).open(attachment.storage_key)
    except FileNotFoundError:
        log.error("attachment_file_missing", extra={"attachment_id": attachment.id, "storage": attachment.storage})
        raise NotFound() from None


def claim(
    *,
    owner_id: int,
    attachment_ids: Sequence[int],
    problem_id: int | None = None,
    visit_id: int | None = None,
    field: str = "attachment_ids",
) -> list[Attachment]:
    """Attach the caller's own, still unattached uploads; anything else is a 422 on `field`.

    Flushes only: the caller's commit stores the link with the object it documents.
    """
    if (problem_id is None) == (visit_id is None):
        raise ValueError("claim exactly one of problem_id / visit_id")
    wanted = list(dict.fromkeys(attachment_ids))
    if not wanted:
        return []
    rows = db.session.scalars(select(Attachment).where(Attachment.id.in_(wanted)).with_for_update()).all()
    usable = {a.id: a for a in rows if a.owner_id == owner_id and a.problem_id is None and a.visit_id is None}
    bad = [i for i in wanted if i not in usable]
    if bad:
        raise ValidationFailed(
            errors={field: [bilingual(f"附件不存在或不可用：{bad}", f"Unknown or unavailable attachments: {bad}")]}
        )
    for attachment in usable.values():
        attachment.problem_id, attachment.visit_id = problem_id, visit_id
    db.session.flush()
    return [usable[i] for i in wanted]
