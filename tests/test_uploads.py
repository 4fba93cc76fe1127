"""Image uploads: only real PNG/JPEG/WebP by content, size-capped, re-encoded, renamed."""

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image
from werkzeug.datastructures import FileStorage

from marketplace import uploads
from marketplace.uploads import UploadRejected, save_image
from tests.conftest import form_errors


def image_bytes(fmt="PNG", size=(40, 30), colour=(200, 30, 30), **save_args) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, fmt, **save_args)
    return buffer.getvalue()


def jpeg_with_exif() -> bytes:
    image = Image.new("RGB", (64, 48), (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x8298] = "Copyright Secret Person"
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes(), comment=b"secret comment")
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A valid-looking PNG that claims huge dimensions: a decompression bomb's header."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def storage(data: bytes, filename="logo.png", content_type="image/png") -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename=filename, content_type=content_type)


def stored_files(app) -> list[Path]:
    root = Path(app.config["UPLOAD_DIR"])
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


# -- the storage function ----------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_accepted_formats_are_reencoded_to_fixed_size_png(app, fmt):
    name = save_image(storage(image_bytes(fmt)), kind="logo", size=(128, 128))
    assert uploads.is_stored_name(name) and name.endswith(".png")
    path = uploads.path_for("logo", name)
    with Image.open(path) as out:
        assert out.format == "PNG"
        assert out.size == (128, 128)


def test_metadata_is_stripped(app):
    name = save_image(storage(jpeg_with_exif(), "photo.jpg", "image/jpeg"), kind="logo")
    data = uploads.path_for("logo", name).read_bytes()
    assert b"SecretCam" not in data and b"Secret Person" not in data and b"secret" not in data
    with Image.open(io.BytesIO(data)) as out:
        assert not out.getexif()
        assert "icc_profile" not in out.info


def test_photo_kind_is_jpeg_cropped(app):
    name = save_image(storage(image_bytes("PNG", (300, 100))), kind="photo", size=(160, 120))
    with Image.open(uploads.path_for("photo", name)) as out:
        assert (out.format, out.size) == ("JPEG", (160, 120))


def test_names_are_random_and_ignore_the_clients_name(app):
    a = save_image(storage(image_bytes(), "../../x.png"), kind="logo")
    b = save_image(storage(image_bytes(), "../../x.png"), kind="logo")
    assert a != b
    root = Path(app.config["UPLOAD_DIR"]).resolve()
    for path in stored_files(app):
        assert root in path.resolve().parents
        assert "x.png" not in path.name
    assert not (root.parent.parent / "x.png").exists()


@pytest.mark.parametrize("data,filename,message", [
    (b"<!doctype html><script>alert(1)</script>", "evil.png", "not a PNG, JPEG or WebP"),
    (b"", "empty.png", "empty"),
    (image_bytes("GIF"), "anim.gif", "not a PNG, JPEG or WebP"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "x.svg",
     "not a PNG, JPEG or WebP"),
    (image_bytes("BMP"), "x.bmp", "not a PNG, JPEG or WebP"),
    (image_bytes("PNG")[:60], "truncated.png", "could not be read"),
    (png_header_only(60_000, 60_000), "bomb.png", "too large"),
    (png_header_only(9_000, 9_000), "wide.png", "too large"),
])
def test_refusals(app, data, filename, message):
    with pytest.raises(UploadRejected, match=message):
        save_image(storage(data, filename), kind="logo")
    assert stored_files(app) == []


def test_oversize_refused_before_decoding(app):
    big = image_bytes("PNG") + b"\x00" * (2 * 1024 * 1024)
    with pytest.raises(UploadRejected, match="larger than 2 MB"):
        save_image(storage(big), kind="logo")
    assert stored_files(app) == []


def test_path_for_only_resolves_generated_names(app):
    name = save_image(storage(image_bytes()), kind="logo")
    assert uploads.path_for("logo", name) is not None
    for bad in ["../" + name, "/etc/passwd", name.upper(), name + "/..", "..", "",
                "a" * 32 + ".html", "%2e%2e%2f" + name]:
        assert uploads.path_for("logo", bad) is None
    with pytest.raises(ValueError):
        save_image(storage(image_bytes()), kind="../../etc")


# -- through the logo form ---------------------------------------------------------------------

@pytest.fixture
def owner_org(make_org, make_user, login_as):
    owner = make_user()
    org = make_org(owner, slug="logo-co")
    login_as(owner)
    return org


def upload(client, data, filename="logo.png"):
    return client.post("/orgs/logo-co/profile/logo",
                       data={"logo": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


@pytest.mark.parametrize("data,filename", [
    (b"<html><script>alert(1)</script></html>", "page.png"),
    (image_bytes("GIF"), "x.gif"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "x.svg"),
    (b"", "zero.png"),
    (png_header_only(60_000, 60_000), "bomb.png"),
    (image_bytes("PNG") + b"\x00" * (2 * 1024 * 1024), "big.png"),
])
def test_logo_form_refuses_and_saves_nothing(app, client, db, owner_org, data, filename):
    response = upload(client, data, filename)
    assert response.status_code == 400
    assert form_errors(response)
    db.session.refresh(owner_org)
    assert owner_org.profile is None or owner_org.profile.logo_filename is None
    assert stored_files(app) == []


def test_a_good_image_is_removed_when_its_action_is_refused(app, client, db, owner_org,
                                                           monkeypatch):
    """The image is fine and stored, then the action is refused: rolling the transaction back
    takes the file with it (marketplace/written_files.py)."""
    from marketplace.errors import Conflict
    from marketplace.profiles import services

    def refuse(*_args, **_kwargs):
        raise Conflict("Someone else changed this profile.")

    monkeypatch.setattr(services, "set_logo", refuse)
    response = upload(client, image_bytes("PNG"))
    assert response.status_code == 409
    assert "Someone else changed this profile." in " ".join(form_errors(response))
    assert stored_files(app) == []


def test_a_commit_that_fails_leaves_no_file(app, client, db, owner_org, monkeypatch):
    """Even a failure of the commit itself (the database goes away) leaves no orphan."""
    from sqlalchemy.exc import OperationalError

    def broken_commit():
        raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(db.session, "commit", broken_commit)
    app.config["ERRORS_RAISE"] = False  # the 500 page, as in production
    response = upload(client, image_bytes("PNG"))
    assert response.status_code == 500
    assert stored_files(app) == []


def test_logo_upload_replace_and_serve(app, client, db, owner_org):
    assert upload(client, image_bytes("JPEG"), "../../x.png").status_code == 302
    db.session.refresh(owner_org)
    first = owner_org.profile.logo_filename
    assert uploads.is_stored_name(first)
    response = client.get(f"/orgs/logo-co/logo/{first}")
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert "sandbox" in response.headers["Content-Security-Policy"]

    assert upload(client, image_bytes("WEBP"), "new.webp").status_code == 302
    db.session.refresh(owner_org)
    second = owner_org.profile.logo_filename
    assert second != first
    assert uploads.path_for("logo", first) is None  # the replaced file is deleted
    assert client.get(f"/orgs/logo-co/logo/{first}").status_code == 404
    assert len(stored_files(app)) == 1

    assert client.post("/orgs/logo-co/profile/logo/remove").status_code == 302
    db.session.refresh(owner_org)
    assert owner_org.profile.logo_filename is None
    assert stored_files(app) == []


def test_logo_serving_follows_profile_visibility(app, client, db, owner_org, make_user,
                                                 login_as):
    upload(client, image_bytes(), "a.png")
    db.session.refresh(owner_org)
    name = owner_org.profile.logo_filename
    url = f"/orgs/logo-co/logo/{name}"
    assert client.get(url).status_code == 200  # the owner sees the draft's logo
    login_as(make_user())
    assert client.get(url).status_code == 404  # draft: outsiders see nothing
    with client.session_transaction() as session:
        session.clear()
    assert client.get(url).status_code == 404
    # Path tricks in the served name never reach the file system.
    assert client.get("/orgs/logo-co/logo/..%2F..%2Fsecret_key").status_code == 404
    assert client.get("/orgs/logo-co/logo/" + "0" * 32 + ".png").status_code == 404
