"""Image uploads: checked by decoding, re-encoded, stored under generated names.

Nothing the client sends decides where or how a file is stored: the name is random, the
format is ours, and the pixels are re-encoded from a decoded image, so metadata (EXIF, GPS,
ICC, comments) and any polyglot payload are gone. Files live under ``UPLOAD_DIR/<kind>/``,
outside ``static/``, and are served only through views that check the parent's permission
(:func:`send_upload`).
"""

import io
import os
import re
import secrets
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from flask import current_app, send_file
from PIL import Image, ImageOps, UnidentifiedImageError

from marketplace import written_files
from marketplace.errors import ValidationFailed

DEFAULT_MAX_BYTES = 2 * 1024 * 1024
# Decoded size guard, far below Pillow's own bomb limit (~179 Mpx): a 2 MB upload with more
# pixels than this is a compression trick, not a logo or a photo.
MAX_PIXELS = 40_000_000
ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP")
STORED_NAME_RE = re.compile(r"^[0-9a-f]{32}\.(?:png|jpg)$")


@dataclass(frozen=True)
class ImageKind:
    folder: str
    format: str  # what we write, whatever came in
    extension: str
    mimetype: str
    fit: str  # "contain": whole image padded onto the canvas; "cover": cropped to fill it


KINDS = {
    "logo": ImageKind("logos", "PNG", "png", "image/png", "contain"),
    "photo": ImageKind("photos", "JPEG", "jpg", "image/jpeg", "cover"),
}


class UploadRejected(ValidationFailed):
    """The file is not an image we accept; the message says why, for the form."""


def _kind(kind: str) -> ImageKind:
    try:
        return KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown upload kind: {kind}") from None


def _folder(kind: str) -> Path:
    folder = Path(current_app.config["UPLOAD_DIR"]) / _kind(kind).folder
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def is_stored_name(name: str | None) -> bool:
    return bool(name) and STORED_NAME_RE.fullmatch(name) is not None


def path_for(kind: str, name: str) -> Path | None:
    """The file for a stored name, or None. Only names we generated can resolve."""
    if not is_stored_name(name):
        return None
    path = _folder(kind) / name
    return path if path.is_file() else None


def _read_limited(file_storage, max_bytes: int) -> bytes:
    stream = getattr(file_storage, "stream", file_storage)
    data = stream.read(max_bytes + 1)
    if not data:
        raise UploadRejected("The file is empty.")
    if len(data) > max_bytes:
        raise UploadRejected(f"The file is larger than {max_bytes // (1024 * 1024)} MB.")
    return data


def decode_image(data: bytes) -> Image.Image:
    """Decode fully (not just the header) or refuse; only PNG, JPEG and WebP are tried."""
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its two bomb limits; here that is a refusal too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=list(ACCEPTED_FORMATS))
            width, height = image.size
            if width < 1 or height < 1 or width * height > MAX_PIXELS:
                raise UploadRejected("The image's dimensions are too large.")
            image.load()
    except UploadRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UploadRejected("The image's dimensions are too large.") from None
    except UnidentifiedImageError:
        raise UploadRejected("This is not a PNG, JPEG or WebP image.") from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise UploadRejected("The image could not be read; it may be damaged.") from None
    return image


def _normalise(image: Image.Image, spec: ImageKind, size: tuple[int, int]) -> Image.Image:
    image = ImageOps.exif_transpose(image)  # phones store rotation in EXIF, which we drop
    if spec.format == "PNG":
        image = image.convert("RGBA")
        if spec.fit == "contain":
            canvas = Image.new("RGBA", size, (255, 255, 255, 0))
            fitted = ImageOps.contain(image, size, Image.Resampling.LANCZOS)
            canvas.paste(fitted, ((size[0] - fitted.width) // 2,
                                  (size[1] - fitted.height) // 2), fitted)
            return canvas
        return ImageOps.fit(image, size, Image.Resampling.LANCZOS)
    rgba = image.convert("RGBA")
    flat = Image.new("RGB", rgba.size, (255, 255, 255))
    flat.paste(rgba, mask=rgba.getchannel("A"))
    if spec.fit == "contain":
        canvas = Image.new("RGB", size, (255, 255, 255))
        fitted = ImageOps.contain(flat, size, Image.Resampling.LANCZOS)
        canvas.paste(fitted, ((size[0] - fitted.width) // 2, (size[1] - fitted.height) // 2))
        return canvas
    return ImageOps.fit(flat, size, Image.Resampling.LANCZOS)


def store_image(image: Image.Image, *, kind: str, size: tuple[int, int]) -> str:
    """Re-encode a decoded image to our format and size; return its new stored name."""
    spec = _kind(kind)
    out = _normalise(image, spec, size)
    buffer = io.BytesIO()
    # A fresh image carries no info dict, so no EXIF/ICC/text chunks are written.
    if spec.format == "JPEG":
        out.save(buffer, "JPEG", quality=85, optimize=True)
    else:
        out.save(buffer, "PNG", optimize=True)
    name = f"{secrets.token_hex(16)}.{spec.extension}"
    folder = _folder(kind)
    # Write aside and rename, so a reader never sees half a file.
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(buffer.getvalue())
        os.replace(tmp, folder / name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    written_files.remember(folder / name)
    return name


def save_image(file_storage, *, kind: str, max_bytes: int = DEFAULT_MAX_BYTES,
               size: tuple[int, int] = (256, 256)) -> str:
    """Check an uploaded file (werkzeug FileStorage or a binary stream) and store it.

    The client's filename and content type are ignored: only the decoded content counts.
    Raises UploadRejected with a message for the form.
    """
    _kind(kind)
    if file_storage is None:
        raise UploadRejected("Choose a file to upload.")
    data = _read_limited(file_storage, max_bytes)
    image = decode_image(data)
    try:
        return store_image(image, kind=kind, size=size)
    finally:
        image.close()


def delete_upload(kind: str, name: str | None) -> None:
    """Remove a stored file (after the commit that stopped referring to it)."""
    path = path_for(kind, name) if name else None
    if path is not None:
        path.unlink(missing_ok=True)


def send_upload(kind: str, name: str, *, download_name: str):
    """Serve a stored file. The caller has already checked the parent's permission."""
    path = path_for(kind, name)
    if path is None:
        return None
    spec = _kind(kind)
    response = send_file(path, mimetype=spec.mimetype, as_attachment=True,
                         download_name=f"{download_name}.{spec.extension}",
                         max_age=3600, conditional=True)
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Opened directly, the file cannot run anything or reach anything.
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.cache_control.public = False
    response.cache_control.private = True
    return response
