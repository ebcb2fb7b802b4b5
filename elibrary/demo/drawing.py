"""Drawing helpers for demo covers and picture-book pages: Japanese fonts (Noto CJK when installed)."""
from __future__ import annotations

import functools
import io
import re
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, features

# Debian's fonts-noto-cjk first, then other common Japanese fonts; index 0 of the Noto TTCs is Japanese.
FONT_CANDIDATES = {
    "sans": (
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/truetype/noto/NotoSansCJK-Bold.ttc",
        "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
        "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
    ),
    "serif": (
        "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc",
        "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
        "/usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf",
        "/usr/share/fonts/truetype/fonts-japanese-mincho.ttf",
    ),
}


@functools.cache
def font_path(kind: str = "sans") -> str | None:
    """The first Japanese font file present for ``kind`` ("sans" or "serif"), or ``None``."""
    for candidate in (*FONT_CANDIDATES[kind], *FONT_CANDIDATES["sans"]):
        if Path(candidate).is_file():
            return candidate
    return None


def has_japanese_font() -> bool:
    """Whether Japanese text can be drawn (otherwise covers fall back to Latin text)."""
    return font_path() is not None


@functools.cache
def font(size: int, kind: str = "sans") -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """A font of ``size`` px; Pillow's built-in font when no Japanese font is installed."""
    path = font_path(kind)
    if path is None:
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(path, size, index=0)


def can_draw_vertical() -> bool:
    """Top-to-bottom text needs libraqm in Pillow and a real font."""
    return has_japanese_font() and bool(features.check("raqm"))


_TOKENS = re.compile(r"[A-Za-z0-9&'.,:-]+|.")


def wrap(draw: ImageDraw.ImageDraw, text: str, face, max_width: int) -> list[str]:
    """Break ``text`` into lines no wider than ``max_width`` (by character: Japanese has no spaces)."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for token in _TOKENS.findall(paragraph):  # Latin words stay whole
            if line and draw.textlength(line + token, font=face) > max_width and token not in "、。」）!?ー":
                lines.append(line.rstrip())
                line = token.lstrip()
            else:
                line += token
        lines.append(line)
    return lines


def draw_lines(draw: ImageDraw.ImageDraw, xy: tuple[int, int], lines: list[str], face, fill, *, spacing: float = 1.3, anchor: str = "la") -> int:
    """Draw lines from ``xy`` downwards; returns the y below the last line."""
    x, y = xy
    step = int(face.size * spacing) if hasattr(face, "size") else 20
    for line in lines:
        draw.text((x, y), line, font=face, fill=fill, anchor=anchor)
        y += step
    return y


def jpeg(image: Image.Image, quality: int = 86) -> bytes:
    """JPEG bytes (deterministic for the same image)."""
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def png(image: Image.Image) -> bytes:
    """PNG bytes."""
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
