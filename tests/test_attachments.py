"""Attachments: type by content, size limit, hashing, storage backends, and who may read a file."""

from __future__ import annotations

import hashlib
import io
from urllib.parse import quote

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import FileStorage

from service_app.attachments import content, service
from service_app.attachments.models import Attachment
from service_app.errors import PayloadTooLarge
from service_app.extensions import db
from tests.factories import (
    AdminFactory,
    CadreFactory,
    DepartmentUserFactory,
    EnterpriseUserFactory,
    LinkFactory,
    UserFactory,
)
from tests.factories_files import (
    AVIF,
    ELF,
    EXE,
    HEIC,
    HEIF_10BIT,
    HTML,
    JPEG,
    PDF,
    TEXT,
    WEBP,
    png_bytes,
    stored_keys,
)
from tests.factories_stats import ProblemFactory, record_dispatch
from tests.factories_visits import VisitFactory
from tests.helpers import assert_error, auth_headers

URL = "/api/v1/attachments"


def post_file(
    client, headers, data: bytes, filename: str = "photo.jpg", mimetype: str = "image/jpeg", field: str = "file"
):
    return client.post(
        URL, data={field: (io.BytesIO(data), filename, mimetype)}, headers=headers, content_type="multipart/form-data"
    )


def attachment_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Attachment))


# --- upload: what is accepted, what is stored ---------------------------------------------------


def test_png_named_pdf_is_stored_as_png_with_its_sha256(client, app_ctx, store):
    user = EnterpriseUserFactory()
    headers = auth_headers(client, user)
    data = png_bytes(padding=200_000)  # several storage chunks
    response = post_file(client, headers, data, filename="scan.pdf", mimetype="application/pdf")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert set(body) == {"id", "filename", "content_type", "size", "sha256", "created_at", "url"}
    assert body["content_type"] == "image/png"
    assert body["filename"] == "scan.png"
    assert body["size"] == len(data)
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert response.headers["Location"].endswith(f"/api/v1/attachments/{body['id']}")
    row = db.session.get(Attachment, body["id"])
    assert (row.owner_id, row.storage, row.problem_id, row.visit_id) == (user.id, store.name, None, None)
    # Stored under a random key that owes nothing to the client's file name.
    assert "scan" not in row.storage_key and stored_keys(store) == {row.storage_key}

    download = client.get(f"{URL}/{body['id']}", headers=headers)
    assert download.status_code == 200
    assert download.data == data
    assert download.mimetype == "image/png"
    assert download.headers["ETag"] == f'"{body["sha256"]}"'
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Cache-Control"] == "private, no-cache"
    assert download.headers["Content-Length"] == str(len(data))
    assert download.headers["Content-Disposition"] == 'attachment; filename="scan.png"'


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (JPEG, "image/jpeg"),
        (WEBP, "image/webp"),
        (HEIC, "image/heic"),
        (HEIF_10BIT, "image/heif"),
        (PDF, "application/pdf"),
    ],
    ids=["jpeg", "webp", "heic", "heif-10bit", "pdf"],
)
def test_allowed_types_are_detected_by_content(client, app_ctx, data, expected):
    headers = auth_headers(client, CadreFactory())
    # The declared type and name are deliberately wrong: only the bytes count.
    response = post_file(client, headers, data, filename="upload.bin", mimetype="application/octet-stream")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["content_type"] == expected
    assert response.get_json()["filename"] == "upload.bin" + content.ALLOWED[expected][0]


@pytest.mark.parametrize(
    ("data", "filename", "detected"),
    [
        (TEXT, "photo.jpg", None),
        (HTML, "photo.png", None),
        (EXE, "photo.jpg", "application/x-msdownload"),
        (ELF, "report.pdf", "application/x-executable"),
        (AVIF, "photo.heic", "image/avif"),
    ],
    ids=["text-as-jpg", "html-as-png", "exe-as-jpg", "elf-as-pdf", "avif"],
)
def test_refused_content_is_415_whatever_its_name(client, app_ctx, data, filename, detected):
    headers = auth_headers(client, CadreFactory())
    before = attachment_count()
    body = assert_error(
        post_file(client, headers, data, filename=filename, mimetype="image/jpeg"), 415, "unsupported_file_type"
    )
    assert body["detected"] == detected
    assert "image/png" in body["allowed"] and "file" in body["errors"]
    assert attachment_count() == before


def test_refused_upload_leaves_nothing_in_storage(client, app_ctx, store):
    headers = auth_headers(client, CadreFactory())
    assert_error(post_file(client, headers, EXE), 415)
    assert stored_keys(store) == set()


def test_file_over_the_limit_is_413_and_nothing_is_kept(client, app, app_ctx, store):
    headers = auth_headers(client, CadreFactory())
    app.config["ATTACHMENT_MAX_BYTES"], saved = 4096, app.config["ATTACHMENT_MAX_BYTES"]
    try:
        before = attachment_count()
        exact = post_file(client, headers, png_bytes(padding=4096 - len(png_bytes())))
        assert exact.status_code == 201, exact.get_json()
        kept = stored_keys(store)
        # Over the file limit but within the request's multipart allowance: caught while streaming.
        streamed = assert_error(post_file(client, headers, png_bytes(padding=5000)), 413, "payload_too_large")
        # Over the whole-request limit: refused by the body parser before any byte is stored.
        whole = assert_error(post_file(client, headers, png_bytes(padding=200_000)), 413, "payload_too_large")
        assert streamed == whole
        assert streamed["max_bytes"] == 4096 and "file" in streamed["errors"]
        assert attachment_count() == before + 1
        assert stored_keys(store) == kept
    finally:
        app.config["ATTACHMENT_MAX_BYTES"] = saved


def test_empty_file_is_422(client, app_ctx):
    body = assert_error(post_file(client, auth_headers(client, CadreFactory()), b""), 422, "validation_failed")
    assert body["errors"] == {"file": ["文件为空"]}


def test_missing_file_field_is_422(client, app_ctx):
    headers = auth_headers(client, CadreFactory())
    body = assert_error(
        client.post(URL, data={"note": "no file"}, headers=headers, content_type="multipart/form-data"), 422
    )
    assert body["errors"] == {"file": ["必填字段"]}
    # A file under another field name does not count as `file`.
    other = assert_error(post_file(client, headers, JPEG, field="photo"), 422)
    assert other["errors"] == {"file": ["必填字段"]}


def test_json_body_is_415(client, app_ctx):
    response = client.post(URL, json={"file": "aGVsbG8="}, headers=auth_headers(client, CadreFactory()))
    assert_error(response, 415, "unsupported_media_type")


def test_upload_needs_a_login_and_is_not_for_admins(client, app_ctx):
    assert_error(post_file(client, {}, JPEG), 401)
    assert_error(post_file(client, auth_headers(client, AdminFactory()), JPEG), 403)
    for user in (DepartmentUserFactory(), UserFactory()):  # department staff, manager
        assert post_file(client, auth_headers(client, user), JPEG).status_code == 201


def test_upload_with_idempotency_key_is_stored_once(client, app_ctx):
    headers = {**auth_headers(client, CadreFactory()), "Idempotency-Key": "upload-1"}
    before = attachment_count()
    first = post_file(client, headers, JPEG, filename="a.jpg")
    # The retry is encoded anew (another multipart boundary): the same fields and file still match.
    again = post_file(client, headers, JPEG, filename="a.jpg")
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert attachment_count() == before + 1
    other_file = assert_error(post_file(client, headers, PDF, filename="a.jpg"), 422, "idempotency_key_reused")
    assert "Idempotency-Key" in other_file["errors"]


# --- the row and the file stay consistent -------------------------------------------------------


def test_failed_commit_removes_the_stored_file(app_ctx, store):
    """The owner does not exist, so the row violates its foreign key at commit: no row, no file."""
    missing_owner = (db.session.scalar(select(func.max(Attachment.owner_id))) or 0) + 10_000_000
    before = attachment_count()
    with pytest.raises(IntegrityError):
        service.upload(owner_id=missing_owner, file=FileStorage(io.BytesIO(PDF), filename="合同.pdf"))
    assert attachment_count() == before
    assert stored_keys(store) == set()


def test_large_file_streams_through_and_an_oversized_one_leaves_nothing(app_ctx, store):
    """9 MiB goes to S3 as a multipart upload; a file that passes the limit midway aborts it."""
    limit = 10 * 1024 * 1024
    data = png_bytes(padding=9 * 1024 * 1024)
    reader = service.MeteredReader(data[:100], io.BytesIO(data[100:]), limit=limit)
    store.save("tests/large", reader, content_type="image/png")
    assert (reader.size, reader.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    with store.open("tests/large") as stream:
        assert hashlib.sha256(stream.read()).hexdigest() == reader.sha256
    oversized = png_bytes(padding=limit)
    with pytest.raises(PayloadTooLarge):
        store.save(
            "tests/oversized", service.MeteredReader(b"", io.BytesIO(oversized), limit=limit), content_type="image/png"
        )
    assert stored_keys(store) == {"tests/large"}
    if store.name == "s3":
        assert not store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads")


def test_row_whose_file_is_gone_answers_404(client, app_ctx, store):
    user = CadreFactory()
    headers = auth_headers(client, user)
    attachment_id = post_file(client, headers, JPEG).get_json()["id"]
    store.delete(db.session.get(Attachment, attachment_id).storage_key)
    assert_error(client.get(f"{URL}/{attachment_id}", headers=headers), 404)


# --- reading: who may, and how the file is served -----------------------------------------------


def _attached_to_problem(client):
    """An enterprise's photo on its problem, the problem's linked cadre, and a few outsiders."""
    filer = EnterpriseUserFactory()
    enterprise = filer.enterprise
    problem = ProblemFactory(enterprise=enterprise, filed_by=filer)
    attachment_id = post_file(client, auth_headers(client, filer), JPEG).get_json()["id"]
    service.claim(owner_id=filer.id, attachment_ids=[attachment_id], problem_id=problem.id)
    db.session.commit()
    return filer, enterprise, problem, attachment_id


def test_problem_attachment_is_readable_by_whoever_sees_the_problem(client, app_ctx):
    filer, enterprise, problem, attachment_id = _attached_to_problem(client)
    linked_cadre = LinkFactory(enterprise=enterprise).cadre
    department = DepartmentUserFactory()
    problem.department_id = department.department_id  # dispatched there, with the row a dispatch writes
    record_dispatch(problem.id, department.department_id)
    db.session.commit()
    readers = [filer, linked_cadre, department, UserFactory()]  # filer, cadre, its department, manager
    strangers = [CadreFactory(), EnterpriseUserFactory(), DepartmentUserFactory(), AdminFactory()]
    for user in readers:
        headers = auth_headers(client, user)
        assert client.get(f"{URL}/{attachment_id}", headers=headers).status_code == 200, user.role
        assert client.get(f"{URL}/{attachment_id}/meta", headers=headers).get_json()["id"] == attachment_id
    for user in strangers:
        headers = auth_headers(client, user)
        assert_error(client.get(f"{URL}/{attachment_id}", headers=headers), 404)
        assert_error(client.get(f"{URL}/{attachment_id}/meta", headers=headers), 404)
    assert_error(client.get(f"{URL}/{attachment_id + 10_000}", headers=auth_headers(client, filer)), 404)
    assert_error(client.get(f"{URL}/{attachment_id}"), 401)


def test_visit_photo_is_readable_by_its_cadre_and_managers_only(client, app_ctx):
    visit = VisitFactory()
    enterprise = visit.enterprise  # relationships are lazy="raise" once a request has committed
    headers = auth_headers(client, visit.cadre)
    attachment_id = post_file(client, headers, HEIC, filename="IMG_0001.HEIC").get_json()["id"]
    service.claim(owner_id=visit.cadre_id, attachment_ids=[attachment_id], visit_id=visit.id, field="photo_ids")
    db.session.commit()
    assert client.get(f"{URL}/{attachment_id}", headers=auth_headers(client, UserFactory())).status_code == 200
    enterprise_user = EnterpriseUserFactory(enterprise=enterprise)
    for user in (CadreFactory(), enterprise_user):
        assert_error(client.get(f"{URL}/{attachment_id}", headers=auth_headers(client, user)), 404)


def test_unattached_upload_is_private_to_its_uploader(client, app_ctx):
    owner = EnterpriseUserFactory()
    colleague = EnterpriseUserFactory(enterprise=owner.enterprise)
    attachment_id = post_file(client, auth_headers(client, owner), PDF).get_json()["id"]
    assert_error(client.get(f"{URL}/{attachment_id}/meta", headers=auth_headers(client, colleague)), 404)
    meta = client.get(f"{URL}/{attachment_id}/meta", headers=auth_headers(client, owner))
    assert meta.status_code == 200 and meta.get_json()["content_type"] == "application/pdf"


def test_chinese_filename_uses_rfc5987(client, app_ctx, store):
    headers = auth_headers(client, CadreFactory())
    body = post_file(client, headers, JPEG, filename="/storage/emulated/0/DCIM/现场 照片.jpeg").get_json()
    assert body["filename"] == "现场 照片.jpeg"
    disposition = client.get(f"{URL}/{body['id']}", headers=headers).headers["Content-Disposition"]
    assert (
        disposition
        == f"attachment; filename=\"attachment-{body['id']}.jpeg\"; filename*=UTF-8''{quote('现场 照片.jpeg', safe='')}"
    )
    assert "%E7%8E%B0%E5%9C%BA%20%E7%85%A7%E7%89%87.jpeg" in disposition


def test_conditional_and_range_requests(client, app_ctx, store):
    headers = auth_headers(client, CadreFactory())
    data = png_bytes(padding=1000)
    body = post_file(client, headers, data).get_json()
    url = f"{URL}/{body['id']}"
    not_modified = client.get(url, headers={**headers, "If-None-Match": f'"{body["sha256"]}"'})
    assert not_modified.status_code == 304 and not_modified.data == b""
    assert not_modified.headers["ETag"] == f'"{body["sha256"]}"'
    partial = client.get(url, headers={**headers, "Range": "bytes=0-7"})
    assert partial.status_code == 206 and partial.data == data[:8]
    assert partial.headers["Content-Range"] == f"bytes 0-7/{len(data)}"


# --- pieces ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "content_type", "expected"),
    [
        ("../../etc/passwd", "image/png", "passwd.png"),
        ("scan.pdf", "image/png", "scan.png"),
        ("IMG_1.JPG", "image/jpeg", "IMG_1.JPG"),
        ("report.v2", "application/pdf", "report.v2.pdf"),
        ("invoice\u202efdp.exe", "application/pdf", "invoicefdp.exe.pdf"),
        ('a"b;c\r\n.png', "image/png", "a_b_c.png"),
        ("...", "image/webp", "attachment.webp"),
        (None, "image/heic", "attachment.heic"),
        ("长" * 300 + ".png", "image/png", "长" * (content.MAX_FILENAME_CHARS - 4) + ".png"),
    ],
)
def test_safe_filename(raw, content_type, expected):
    assert content.safe_filename(raw, content_type) == expected


def test_storage_setting_is_checked_at_start_up(database_url):
    from tests.conftest import make_app

    with pytest.raises(RuntimeError, match="ATTACHMENT_STORAGE"):
        make_app(database_url, ATTACHMENT_STORAGE="ftp")
    with pytest.raises(RuntimeError, match="S3_BUCKET"):
        make_app(database_url, ATTACHMENT_STORAGE="s3", S3_BUCKET=None)
