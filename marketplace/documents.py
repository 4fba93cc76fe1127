"""Document uploads (tender and bid documents): PDF, ODT, DOCX and XLSX only.

The type is decided by the content, never by the name or the browser's Content-Type: a PDF
starts with ``%PDF-``; ODT is a zip whose first entry is an uncompressed ``mimetype`` naming
the ODF text type; DOCX and XLSX are zips whose ``[Content_Types].xml`` declares the main
Word or Excel part, which must exist. The name's extension must agree with the content.

Files are stored under generated names in ``<UPLOAD_DIR>/documents`` (outside ``static/``)
and only ever sent as attachments with ``nosniff``, after the caller has checked the
permission of the parent object (tender or bid). Files written in a request whose
transaction rolls back are deleted again, so a refused action leaves no orphan behind.

Reuse: ``save_document(request.files["file"]) -> StoredDocument`` in a view before calling
the service that records the row; ``send_document(stored_name, download_name,
content_type)`` from the download view once the permission check passed.
"""

import hashlib
import os
import re
import secrets
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

from flask import Response, current_app, send_file
from werkzeug.datastructures import FileStorage

from marketplace import written_files
from marketplace.errors import NotFound, ValidationFailed

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
CHUNK = 64 * 1024
# Zip bombs: a 20 MB archive may claim gigabytes; we only read a few small entries, but we
# still refuse archives whose declared size or entry count is absurd.
MAX_ZIP_UNCOMPRESSED = 400 * 1024 * 1024
MAX_ZIP_ENTRIES = 20_000
MAX_CONTENT_TYPES_BYTES = 1024 * 1024

KINDS = {
    "pdf": "application/pdf",
    "odt": "application/vnd.oasis.opendocument.text",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
OOXML_MAIN = {
    "docx": ("wordprocessingml.document.main+xml", "word/document.xml"),
    "xlsx": ("spreadsheetml.sheet.main+xml", "xl/workbook.xml"),
}
STORED_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{20,40}\.(pdf|odt|docx|xlsx)$")
ACCEPT_ATTR = ".pdf,.odt,.docx,.xlsx"


class DocumentRejected(ValidationFailed):
    """The upload is not an allowed document; the message says why."""


@dataclass(frozen=True)
class StoredDocument:
    stored_name: str  # generated; the only name used on disk
    original_name: str  # cleaned display name, never used as a path
    content_type: str
    size: int
    sha256: str


def documents_dir() -> Path:
    path = Path(current_app.config["UPLOAD_DIR"]) / "documents"
    path.mkdir(parents=True, exist_ok=True)
    return path


def clean_display_name(filename: str | None) -> str:
    """The last path component, without control characters, at most 200 characters."""
    name = unicodedata.normalize("NFC", filename or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip(" .")
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[:190] + dot + ext[:8]) if dot else name[:200]
    return name or "document"


def extension_of(name: str) -> str:
    return name.rpartition(".")[2].lower() if "." in name else ""


def sniff(path: Path) -> str | None:
    """The kind of document in ``path`` ('pdf', 'odt', 'docx', 'xlsx') or None."""
    with path.open("rb") as f:
        head = f.read(8)
    if head.startswith(b"%PDF-"):
        return "pdf"
    if not head.startswith(b"PK\x03\x04"):
        return None
    try:
        with zipfile.ZipFile(path) as archive:
            return _sniff_zip(archive)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, KeyError,
            RuntimeError, NotImplementedError, ValueError):
        return None


def _sniff_zip(archive: zipfile.ZipFile) -> str | None:
    infos = archive.infolist()
    if not infos or len(infos) > MAX_ZIP_ENTRIES:
        return None
    if sum(i.file_size for i in infos) > MAX_ZIP_UNCOMPRESSED:
        return None
    first = infos[0]
    if first.filename == "mimetype":
        # ODF: the mimetype entry comes first and is stored, so readers can sniff it.
        if first.compress_type != zipfile.ZIP_STORED or first.file_size > 100:
            return None
        mimetype = archive.read(first).decode("ascii", "replace").strip()
        return "odt" if mimetype == KINDS["odt"] and "content.xml" in archive.namelist() \
            else None
    names = set(archive.namelist())
    if "[Content_Types].xml" not in names:
        return None
    info = archive.getinfo("[Content_Types].xml")
    if info.file_size > MAX_CONTENT_TYPES_BYTES:
        return None
    content_types = archive.read(info).decode("utf-8", "replace")
    for kind, (main_type, main_part) in OOXML_MAIN.items():
        if main_type in content_types and main_part in names:
            return kind
    return None


def save_document(file: FileStorage | None, *, max_bytes: int | None = None) -> StoredDocument:
    """Check and store an upload; raises DocumentRejected with a message for the form."""
    if file is None or not file.filename:
        raise DocumentRejected("Choose a file to upload.")
    limit = max_bytes or current_app.config.get("DOCUMENT_MAX_BYTES", MAX_DOCUMENT_BYTES)
    display = clean_display_name(file.filename)
    claimed = extension_of(display)
    if claimed not in KINDS:
        raise DocumentRejected("Upload a PDF, ODT, DOCX or XLSX file.")

    folder = documents_dir()
    token = secrets.token_urlsafe(18)
    tmp = folder / f".upload-{token}.part"
    digest = hashlib.sha256()
    size = 0
    try:
        with tmp.open("xb") as out:
            while chunk := file.stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise DocumentRejected(
                        f"The file is larger than {limit // (1024 * 1024)} MB.")
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise DocumentRejected("The file is empty.")
        kind = sniff(tmp)
        if kind is None:
            raise DocumentRejected("This file is not a PDF, ODT, DOCX or XLSX document "
                                   "(its content was checked, not its name).")
        if kind != claimed:
            raise DocumentRejected(f"The file's name says .{claimed} but its content is "
                                   f"{kind.upper()}. Rename it and try again.")
        stored_name = f"{token}.{kind}"
        os.replace(tmp, folder / stored_name)
    finally:
        tmp.unlink(missing_ok=True)
    written_files.remember(document_path(stored_name))
    return StoredDocument(stored_name=stored_name, original_name=display,
                          content_type=KINDS[kind], size=size, sha256=digest.hexdigest())


def document_path(stored_name: str) -> Path:
    if not STORED_NAME_RE.match(stored_name or ""):
        raise NotFound("No such document.")
    return documents_dir() / stored_name


def send_document(stored_name: str, download_name: str, content_type: str) -> Response:
    """Send a stored document as an attachment. Check the parent's permission first."""
    path = document_path(stored_name)
    if not path.is_file():
        raise NotFound("This document is no longer available.")
    response = send_file(path, mimetype=content_type, as_attachment=True,
                         download_name=clean_display_name(download_name), max_age=0,
                         conditional=True, etag=False)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def delete_document(stored_name: str) -> None:
    """Remove a stored file (after the row that named it is gone and committed)."""
    document_path(stored_name).unlink(missing_ok=True)
