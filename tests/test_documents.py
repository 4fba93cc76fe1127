"""Document uploads: the type is decided by content (magic bytes, ODF mimetype entry, OOXML
[Content_Types].xml), 20 MB cap, generated names, attachment + nosniff downloads behind
the parent's permission check, and no orphan files when an action is refused."""

import io
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from werkzeug.datastructures import FileStorage

from marketplace.documents import (
    KINDS,
    MAX_DOCUMENT_BYTES,
    DocumentRejected,
    documents_dir,
    save_document,
    sniff,
)
from marketplace.extensions import db
from marketplace.models import TenderDocument, TenderStatus
from tests.tendering import events, install_bids_stub, make_actors, make_tender, reload

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def zip_bytes(entries: list[tuple[str, bytes]], *, stored_first: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for i, (name, data) in enumerate(entries):
            kind = zipfile.ZIP_STORED if (stored_first and i == 0) else zipfile.ZIP_DEFLATED
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=kind)
    return buffer.getvalue()


def odt() -> bytes:
    return zip_bytes([("mimetype", KINDS["odt"].encode()), ("content.xml", b"<office/>")],
                     stored_first=True)


def ooxml(kind: str) -> bytes:
    main = {"docx": ("word/document.xml", "wordprocessingml.document.main+xml"),
            "xlsx": ("xl/workbook.xml", "spreadsheetml.sheet.main+xml")}[kind]
    types = (f'<Types><Override PartName="/{main[0]}" ContentType="application/'
             f'vnd.openxmlformats-officedocument.{main[1]}"/></Types>').encode()
    return zip_bytes([("[Content_Types].xml", types), (main[0], b"<doc/>")])


def upload(data: bytes, name: str) -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename=name)


def stored_files():
    return sorted(p.name for p in documents_dir().iterdir())


@pytest.mark.parametrize(("name", "data", "kind"), [
    ("spec.pdf", PDF, "pdf"), ("notes.odt", odt(), "odt"), ("terms.docx", ooxml("docx"),
                                                            "docx"),
    ("prices.XLSX", ooxml("xlsx"), "xlsx"),
])
def test_allowed_documents_are_stored_under_generated_names(app, name, data, kind):
    with app.test_request_context("/", method="POST"):
        stored = save_document(upload(data, name))
    assert stored.stored_name.endswith("." + kind) and stored.stored_name != name
    assert stored.content_type == KINDS[kind] and stored.size == len(data)
    assert stored.original_name == name
    path = documents_dir() / stored.stored_name
    assert path.read_bytes() == data
    assert "static" not in str(path)


@pytest.mark.parametrize(("name", "data", "message"), [
    ("page.pdf", b"<!doctype html><script>alert(1)</script>", "content was checked"),
    ("page.html", b"<html></html>", "PDF, ODT, DOCX or XLSX"),
    ("archive.docx", zip_bytes([("hello.txt", b"hi")]), "content was checked"),
    ("fake.docx", zip_bytes([("[Content_Types].xml", b"<Types/>")]), "content was checked"),
    ("fake.odt", zip_bytes([("mimetype", b"application/zip"), ("content.xml", b"x")],
                           stored_first=True), "content was checked"),
    ("deflated.odt", zip_bytes([("mimetype", KINDS["odt"].encode()),
                                ("content.xml", b"x")]), "content was checked"),
    ("terms.pdf", ooxml("docx"), "content is DOCX"),
    ("broken.xlsx", b"PK\x03\x04" + b"\x00" * 100, "content was checked"),
    ("empty.pdf", b"", "empty"),
    ("noextension", PDF, "PDF, ODT, DOCX or XLSX"),
    ("", PDF, "Choose a file"),
])
def test_refused_uploads_leave_no_file(app, name, data, message):
    with app.test_request_context("/", method="POST"), pytest.raises(DocumentRejected,
                                                                      match=message):
        save_document(upload(data, name))
    assert stored_files() == []


def test_oversize_is_refused_while_streaming(app):
    data = PDF + b"0" * (MAX_DOCUMENT_BYTES + 1 - len(PDF))
    with app.test_request_context("/", method="POST"), pytest.raises(DocumentRejected,
                                                                      match="20 MB"):
        save_document(upload(data, "big.pdf"))
    assert stored_files() == []
    exactly = PDF + b"0" * (MAX_DOCUMENT_BYTES - len(PDF))
    with app.test_request_context("/", method="POST"):
        assert save_document(upload(exactly, "max.pdf")).size == MAX_DOCUMENT_BYTES


@pytest.mark.parametrize("name", ["../../../etc/passwd.pdf", "..\\..\\boot.pdf",
                                  "/abs/path/x.pdf", "a\x00b.pdf",
                                  "C:\\Users\\x\\spec.pdf", "x/" * 300 + "long.pdf"])
def test_path_tricks_in_names_go_nowhere(app, tmp_path, name):
    with app.test_request_context("/", method="POST"):
        stored = save_document(upload(PDF, name))
    assert "/" not in stored.original_name and "\\" not in stored.original_name
    assert "\x00" not in stored.original_name and len(stored.original_name) <= 200
    assert stored_files() == [stored.stored_name]
    assert (documents_dir() / stored.stored_name).resolve().parent == documents_dir().resolve()


@pytest.mark.parametrize("name", ["  .pdf", "..pdf", "...", "/"])
def test_names_that_are_only_dots_and_spaces_are_refused(app, name):
    with app.test_request_context("/", method="POST"), pytest.raises(DocumentRejected):
        save_document(upload(PDF, name))
    assert stored_files() == []


def test_zip_bomb_claims_are_refused(app):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"wordprocessingml.document.main+xml")
        archive.writestr("word/document.xml", b"\x00" * (450 * 1024 * 1024 // 64))
        for i in range(64):
            archive.writestr(f"word/pad{i}.bin", b"\x00" * (450 * 1024 * 1024 // 64))
    path = documents_dir() / "bomb.docx"
    path.write_bytes(buffer.getvalue())
    assert sniff(path) is None


# -- through the tender routes -------------------------------------------------------------

@pytest.fixture
def actors(make_user, make_org):
    return make_actors(make_user, make_org)


def post_file(client, tender, data, name, version=None):
    return client.post(f"/tenders/{tender.id}/documents", data={
        "version": str(version or reload(tender).version), "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data")


def test_buyer_uploads_and_anyone_downloads_an_open_tenders_document(client, actors,
                                                                     login_as, monkeypatch):
    install_bids_stub(monkeypatch)
    tender = make_tender(actors.buyer.org, status=TenderStatus.DRAFT)
    login_as(actors.buyer.owner)
    assert post_file(client, tender, PDF, "../Spec <v2>.pdf").status_code == 302
    [document] = reload(tender).documents
    assert document.original_name == "Spec <v2>.pdf" and len(document.sha256) == 64
    response = client.get(f"/tenders/{tender.id}/documents/{document.id}")
    assert response.status_code == 200 and response.data == PDF
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.mimetype == "application/pdf"
    # A draft's documents are as private as the draft.
    login_as(actors.outsider)
    assert client.get(f"/tenders/{tender.id}/documents/{document.id}").status_code == 404
    other = make_tender(actors.buyer.org)
    assert client.get(f"/tenders/{other.id}/documents/{document.id}").status_code == 404


def test_refused_upload_via_the_route_changes_nothing(client, actors, login_as):
    tender = make_tender(actors.buyer.org, status=TenderStatus.DRAFT)
    login_as(actors.buyer.owner)
    post_file(client, tender, b"<html>", "evil.pdf")
    assert reload(tender).documents == [] and reload(tender).version == 1
    assert stored_files() == []


def test_file_written_before_a_refused_action_is_removed(client, actors, login_as):
    """The content is fine but the action is refused (stale version): the rollback takes
    the file with it."""
    tender = make_tender(actors.buyer.org, status=TenderStatus.DRAFT)
    login_as(actors.buyer.owner)
    post_file(client, tender, PDF, "spec.pdf", version=99)
    assert reload(tender).documents == [] and stored_files() == []


def test_closed_tender_takes_no_documents(client, actors, login_as):
    tender = make_tender(actors.buyer.org, deadline=datetime.now(UTC) - timedelta(seconds=1))
    login_as(actors.buyer.owner)
    post_file(client, tender, PDF, "late.pdf")
    assert db.session.query(TenderDocument).count() == 0 and stored_files() == []


def test_removing_a_document_deletes_the_file(client, actors, login_as):
    tender = make_tender(actors.buyer.org, status=TenderStatus.DRAFT)
    login_as(actors.buyer.owner)
    post_file(client, tender, PDF, "spec.pdf")
    [document] = reload(tender).documents
    client.post(f"/tenders/{tender.id}/documents/{document.id}/delete",
                data={"version": str(reload(tender).version)})
    assert reload(tender).documents == [] and stored_files() == []
    assert [e.action for e in events(tender.id)] == [
        "document_added", "document_removed"]


def test_request_over_the_global_limit_is_413(client, actors, login_as):
    tender = make_tender(actors.buyer.org, status=TenderStatus.DRAFT)
    login_as(actors.buyer.owner)
    big = PDF + b"0" * (26 * 1024 * 1024)
    assert post_file(client, tender, big, "huge.pdf").status_code == 413
