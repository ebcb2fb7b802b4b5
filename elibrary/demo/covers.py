"""Demo covers drawn with Pillow: a colour and motif per title, the title in Japanese (vertical for
Japanese fiction when libraqm is available), author and publisher. Deterministic for each title."""
from __future__ import annotations

import colorsys
import hashlib
import math
import random

from PIL import Image, ImageDraw

from elibrary.demo import drawing
from elibrary.demo.catalog import DemoTitle

WIDTH, HEIGHT = 600, 900


def _palette(key: str) -> tuple[tuple[int, int, int], tuple[int, int, int], tuple[int, int, int]]:
    hue = int(hashlib.sha256(key.encode()).hexdigest()[:4], 16) / 0xFFFF

    def rgb(h, s, v):
        return tuple(int(c * 255) for c in colorsys.hsv_to_rgb(h % 1, s, v))

    return rgb(hue, 0.55, 0.55), rgb(hue + 0.08, 0.35, 0.85), rgb(hue + 0.5, 0.6, 0.95)


def _motif(draw: ImageDraw.ImageDraw, motif: str, rnd: random.Random, light, accent) -> None:
    """Decorate the upper two thirds of the cover."""
    if motif in ("moon", "stars", "telescope"):
        for _ in range(60):
            x, y, r = rnd.randint(0, WIDTH), rnd.randint(0, 620), rnd.choice((1, 2, 2, 3))
            draw.ellipse((x - r, y - r, x + r, y + r), fill=(255, 250, 220))
        if motif == "moon":
            draw.ellipse((360, 90, 520, 250), fill=(255, 236, 150))
        if motif == "telescope":
            draw.polygon([(140, 520), (380, 380), (400, 420), (160, 560)], fill=light)
            draw.line([(270, 470), (220, 600)], fill=light, width=10)
            draw.line([(270, 470), (330, 600)], fill=light, width=10)
    elif motif == "snow":
        for _ in range(90):
            x, y, r = rnd.randint(0, WIDTH), rnd.randint(0, 640), rnd.randint(3, 9)
            draw.ellipse((x - r, y - r, x + r, y + r), fill=(255, 255, 255))
    elif motif in ("waves", "road"):
        for row in range(8):
            y0 = 140 + row * 60
            points = [(x, y0 + 18 * math.sin(x / 45 + row)) for x in range(0, WIDTH + 10, 10)]
            draw.line(points, fill=light if row % 2 else accent, width=8)
    elif motif in ("leaves", "flowers"):
        for _ in range(24):
            x, y = rnd.randint(20, WIDTH - 20), rnd.randint(40, 600)
            r = rnd.randint(18, 40)
            colour = accent if motif == "flowers" else light
            draw.ellipse((x - r, y - r // 2, x + r, y + r // 2), fill=colour, outline=(255, 255, 255), width=2)
    elif motif in ("grid", "map", "numbers"):
        for x in range(0, WIDTH, 50):
            draw.line([(x, 0), (x, 640)], fill=light, width=1)
        for y in range(0, 640, 50):
            draw.line([(0, y), (WIDTH, y)], fill=light, width=1)
        if motif == "map":
            draw.line([(60, 560), (200, 420), (330, 470), (520, 180)], fill=accent, width=8, joint="curve")
        if motif == "numbers":
            for n in range(1, 11):
                draw.text((40 + (n - 1) % 5 * 110, 200 + (n - 1) // 5 * 170), str(n), font=drawing.font(96), fill=accent)
    elif motif == "lighthouse":
        draw.polygon([(270, 200), (330, 200), (360, 600), (240, 600)], fill=(250, 250, 250))
        for y in (300, 420, 540):
            draw.rectangle((240 + (y - 200) // 14, y, 360 - (y - 200) // 14, y + 40), fill=(200, 40, 40))
        draw.polygon([(300, 210), (WIDTH, 120), (WIDTH, 300)], fill=(255, 240, 160))
    elif motif in ("book", "bread", "robot", "circles", "mountain", "plain"):
        for i in range(7):
            x, y, r = rnd.randint(0, WIDTH), rnd.randint(0, 600), rnd.randint(40, 140)
            draw.ellipse((x - r, y - r, x + r, y + r), outline=light if i % 2 else accent, width=10)
        if motif == "mountain":
            draw.polygon([(0, 640), (200, 300), (380, 640)], fill=light)
            draw.polygon([(220, 640), (430, 250), (WIDTH, 640)], fill=accent)


def _title_block(draw: ImageDraw.ImageDraw, entry: DemoTitle, dark, japanese: bool) -> None:
    data = entry.data
    vertical = japanese and data.language == "ja" and str(data.ndc).startswith("913") and drawing.can_draw_vertical()
    title = data.title if japanese else (entry.latin_title or data.title)
    if vertical:
        draw.rectangle((420, 40, 560, 640), fill=(255, 255, 255))
        size = min(80, 560 // max(1, len(title)))
        draw.text((490, 70), title, font=drawing.font(size, "serif"), fill=dark, direction="ttb", anchor="mt", features=["vert"])
        if data.volume:
            draw.text((450, 600), data.volume, font=drawing.font(36), fill=dark, anchor="mm")
    else:
        draw.rectangle((40, 440, 560, 660), fill=(255, 255, 255))
        face = drawing.font(60 if len(title) <= 8 else 46 if len(title) <= 16 else 36, "serif")
        lines = drawing.wrap(draw, title, face, 480)[:3]
        drawing.draw_lines(draw, (300, 470), lines, face, dark, anchor="ma", spacing=1.25)
        if data.series_title and data.volume:
            draw.text((300, 630), f"{data.series_title} {data.volume}" if japanese else f"vol. {data.volume}", font=drawing.font(24), fill=dark, anchor="mm")


_ROLE = {"aut": "作", "ill": "絵", "trl": "訳", "edt": "編", "sup": "監修"}


def _credit_line(credits) -> str:
    roles: dict[str, list[str]] = {}
    for credit in credits:
        roles.setdefault(credit.name, []).append(_ROLE.get(credit.role, ""))
    return "　".join(f"{name} {'・'.join(r for r in labels if r)}".strip() for name, labels in roles.items())


def draw_cover(entry: DemoTitle) -> bytes:
    """The JPEG cover of a demo title."""
    dark, light, accent = _palette(entry.key)
    japanese = drawing.has_japanese_font()
    image = Image.new("RGB", (WIDTH, HEIGHT), dark)
    draw = ImageDraw.Draw(image)
    _motif(draw, entry.motif, random.Random(entry.key), light, accent)
    draw.rectangle((0, 680, WIDTH, HEIGHT), fill=light)
    _title_block(draw, entry, dark, japanese)
    credits = entry.data.contributors
    if japanese:
        author = _credit_line(credits)
        publisher = entry.data.publisher
    else:
        author, publisher = "", "elibrary demo"
    draw.text((300, 740), author, font=drawing.font(34), fill=dark, anchor="mm")
    draw.text((300, 840), publisher, font=drawing.font(26), fill=dark, anchor="mm")
    return drawing.jpeg(image)
