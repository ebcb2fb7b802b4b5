"""くまくんのあかいかさ: the demo's fixed-layout picture book, every page drawn with Pillow.

Pages are 750×1050 px; the text of each page is real text laid over the picture (so it can be read
aloud and searched), the picture has a text alternative.
"""
from __future__ import annotations

import math

from PIL import Image, ImageDraw

from elibrary.demo import drawing

W, H = 750, 1050
BROWN, DARK_BROWN, RED = (150, 95, 55), (95, 60, 35), (215, 40, 45)

# (sky, flags) per page; flags say what is in the picture.
SCENES = (
    ("rain", {"bear", "umbrella", "rain"}),
    ("rain", {"bird", "rain", "puddle"}),
    ("rain", {"bear", "umbrella", "bird", "rain"}),
    ("rain", {"bear", "umbrella", "bird", "frog", "rain"}),
    ("rain", {"frog", "rain", "puddle", "big-frog"}),
    ("cloud", {"bear", "umbrella", "bird", "frog", "wind", "tilt"}),
    ("cloud", {"bear", "umbrella", "spin", "wind"}),
    ("clear", {"bear", "umbrella", "bird", "frog", "rainbow", "sun"}),
    ("evening", {"bear", "bird", "frog", "closed"}),
    ("night", {"moon", "closed-only"}),
)
ALT = (
    "雨のなか、赤いかさをひらいたくまくん。",
    "水たまりのそばで、ぬれた黄色いことりがふるえている。",
    "くまくんのかさの下に、ことりがはいっている。",
    "かさの下のくまくんとことりのところへ、みどりのかえるがやってくる。",
    "雨のなかでわらう、大きなみどりのかえる。",
    "風がふいて、かさがかたむいている。",
    "くるくるまわるかさと、くまくん。",
    "雨あがりの空ににじ。くまくんとことりとかえるがならんでいる。",
    "夕やけのなか、手をふるくまくんたち。",
    "夜空に月と星。とじたかさがかべにたてかけてある。",
)
SKIES = {"rain": ((120, 135, 160), (175, 185, 200)), "cloud": ((150, 170, 190), (215, 225, 230)),
         "clear": ((95, 170, 235), (200, 230, 250)), "evening": ((240, 140, 90), (250, 210, 150)),
         "night": ((20, 30, 70), (50, 60, 110))}


def _sky(draw: ImageDraw.ImageDraw, sky: str) -> None:
    top, bottom = SKIES[sky]
    for y in range(0, 760, 4):
        t = y / 760
        draw.rectangle((0, y, W, y + 4), fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)))
    draw.rectangle((0, 760, W, H), fill=(110, 170, 90) if sky != "night" else (40, 70, 50))


def _bear(draw, x: int, y: int) -> None:
    for ex in (-48, 48):
        draw.ellipse((x + ex - 22, y - 92, x + ex + 22, y - 48), fill=BROWN)
    draw.ellipse((x - 70, y - 80, x + 70, y + 50), fill=BROWN)  # head
    draw.ellipse((x - 85, y + 30, x + 85, y + 230), fill=BROWN)  # body
    draw.ellipse((x - 30, y - 5, x + 30, y + 35), fill=(225, 190, 150))
    for ex in (-28, 28):
        draw.ellipse((x + ex - 7, y - 30, x + ex + 7, y - 16), fill=(30, 20, 15))
    draw.ellipse((x - 9, y + 2, x + 9, y + 14), fill=DARK_BROWN)


def _umbrella(draw, x: int, y: int, *, angle: float = 0, spin: bool = False) -> None:
    radius = 170
    start, end = 180 + angle, 360 + angle
    draw.pieslice((x - radius, y - radius, x + radius, y + radius), start, end, fill=RED, outline=(150, 20, 25), width=4)
    if spin:
        for k in range(6):
            a = math.radians(start + k * 30)
            draw.line([(x, y), (x + radius * math.cos(a), y + radius * math.sin(a))], fill=(255, 230, 230), width=4)
    draw.line([(x, y), (x, y + 230)], fill=(70, 50, 40), width=8)


def _bird(draw, x: int, y: int) -> None:
    draw.ellipse((x - 35, y - 28, x + 35, y + 28), fill=(245, 205, 40))
    draw.polygon([(x + 32, y - 4), (x + 58, y + 4), (x + 32, y + 12)], fill=(240, 130, 30))
    draw.ellipse((x + 10, y - 14, x + 20, y - 4), fill=(20, 20, 20))
    draw.chord((x - 30, y - 10, x + 10, y + 30), 0, 180, fill=(225, 175, 20))


def _frog(draw, x: int, y: int, scale: float = 1.0) -> None:
    s = scale
    draw.ellipse((x - 70 * s, y - 40 * s, x + 70 * s, y + 50 * s), fill=(70, 170, 80))
    for ex in (-38, 38):
        draw.ellipse((x + (ex - 22) * s, y - 70 * s, x + (ex + 22) * s, y - 26 * s), fill=(70, 170, 80))
        draw.ellipse((x + (ex - 9) * s, y - 58 * s, x + (ex + 9) * s, y - 40 * s), fill=(20, 20, 20))
    draw.arc((x - 40 * s, y - 20 * s, x + 40 * s, y + 30 * s), 20, 160, fill=(30, 80, 30), width=max(2, int(5 * s)))


def _weather(draw, flags: set[str]) -> None:
    if "rain" in flags:
        for k in range(140):
            x, y = (k * 97) % W, (k * 53) % 740
            if "umbrella" in flags and 150 < x < 520 and y > 290:
                continue  # dry under the umbrella
            draw.line([(x, y), (x - 8, y + 28)], fill=(230, 240, 255), width=3)
    if "wind" in flags:
        for k in range(5):
            y = 120 + k * 110
            draw.arc((40 + k * 30, y, 420 + k * 30, y + 90), 200, 340, fill=(255, 255, 255), width=6)
    if "rainbow" in flags:
        for k, colour in enumerate(((230, 60, 60), (245, 160, 40), (245, 220, 60), (80, 180, 90), (70, 130, 220), (130, 80, 190))):
            r = 420 - k * 22
            draw.arc((W // 2 - r, 520 - r, W // 2 + r, 520 + r), 180, 360, fill=colour, width=22)
    if "sun" in flags:
        draw.ellipse((590, 60, 700, 170), fill=(255, 215, 80))
    if "moon" in flags:
        draw.ellipse((470, 110, 620, 260), fill=(255, 240, 170))
        for k in range(40):
            x, y = (k * 131) % W, (k * 71) % 700
            draw.ellipse((x - 2, y - 2, x + 2, y + 2), fill=(255, 255, 230))
    if "puddle" in flags:
        draw.ellipse((150, 860, 600, 950), fill=(130, 160, 200))


def draw_page(number: int) -> Image.Image:
    """Page ``number`` (1–10) of the story."""
    sky, flags = SCENES[number - 1]
    image = Image.new("RGB", (W, H))
    draw = ImageDraw.Draw(image)
    _sky(draw, sky)
    _weather(draw, flags)
    if "umbrella" in flags:
        _umbrella(draw, 330, 470, angle=-25 if "tilt" in flags else 0, spin="spin" in flags)
    if "bear" in flags:
        _bear(draw, 330, 620)
    if "bird" in flags:
        _bird(draw, 440 if "umbrella" in flags else 380, 520 if "umbrella" in flags else 820)
    if "big-frog" in flags:
        _frog(draw, 380, 600, 2.4)
    elif "frog" in flags:
        _frog(draw, 560, 900)
    if "closed-only" in flags:
        draw.line([(200, 980), (260, 700)], fill=RED, width=26)
        draw.line([(260, 700), (262, 660)], fill=(70, 50, 40), width=8)
    return image


def draw_cover() -> Image.Image:
    """The cover: the title over the first picture."""
    image = draw_page(1)
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((60, 40, W - 60, 250), radius=30, fill=(255, 255, 255))
    if drawing.has_japanese_font():
        draw.text((W // 2, 120), "くまくんの", font=drawing.font(70), fill=RED, anchor="mm")
        draw.text((W // 2, 200), "あかいかさ", font=drawing.font(70), fill=RED, anchor="mm")
        draw.text((W // 2, 1000), "もりの こぐま さく・え", font=drawing.font(34), fill=(255, 255, 255), anchor="mm")
    else:
        draw.text((W // 2, 145), "Little Bear's Red Umbrella", font=drawing.font(44), fill=RED, anchor="mm")
    return image
