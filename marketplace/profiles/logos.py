"""Placeholder logos for the demo: a business's initials on a colour, drawn with Pillow."""

import hashlib

from PIL import Image, ImageDraw, ImageFont

# Muted brand-like colours with enough contrast for white initials (WCAG AA for large text).
PALETTE = ("#0f5c4d", "#1f5a8a", "#8a3b12", "#6b3fa0", "#9c2f52", "#2f6b2f", "#7a5b00",
           "#3d4f8f", "#a23b2a", "#1d6f78")
# A bold system font when there is one; Pillow's bundled font otherwise (same layout code).
BOLD_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
SMALL_WORDS = frozenset({"and", "&", "of", "the", "co", "co.", "ltd", "ltd.", "limited"})


def initials(name: str) -> str:
    words = [w for w in name.replace("-", " ").split() if w.lower() not in SMALL_WORDS]
    letters = "".join(w[0] for w in words if w[0].isalnum())[:2]
    return (letters or name[:1] or "?").upper()


def initials_logo(name: str, size: int = 256) -> Image.Image:
    """Deterministic: the same name always gives the same colour and letters."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    colour = PALETTE[digest[0] % len(PALETTE)]
    image = Image.new("RGB", (size, size), colour)
    draw = ImageDraw.Draw(image)
    text = initials(name)
    font_size = int(size * (0.40 if len(text) > 1 else 0.5))
    try:
        font = ImageFont.truetype(BOLD_FONT, font_size)
    except OSError:
        font = ImageFont.load_default(size=font_size)
    box = draw.textbbox((0, 0), text, font=font)
    x = (size - (box[2] - box[0])) / 2 - box[0]
    y = (size - (box[3] - box[1])) / 2 - box[1]
    draw.text((x, y), text, font=font, fill="#ffffff")
    return image
