"""The demo hall in one picture: every app's window, grabbed in its own process
(SIGUSR1, appctl.py), side by side at one height with its name over it."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

HEIGHT = 720            # every window scaled to this height
CAPTION = 44            # the strip above each window for its name
GAP = 16
FONTS = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
         "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc")
NAMES = {"wall": "叫号屏 Wall (zone B)", "K-A1": "取号机 Kiosk K-A1",
         "K-B1": "取号机 Kiosk K-B1", "C-A01": "叫号器 Caller A01",
         "C-B01": "叫号器 Caller B01", "C-B02": "叫号器 Caller B02",
         "E-B01": "好差评 Evaluator B01", "console": "调度台 Console"}


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    for path in FONTS:
        if Path(path).is_file():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default()


def compose(pngs: list[Path], out: Path, rows: int = 2) -> Path:
    """``pngs`` in ``rows`` rows, each scaled to HEIGHT, captioned by file name."""
    tiles = []
    for png in pngs:
        with Image.open(png) as img:
            img = img.convert("RGB")
            width = max(1, round(img.width * HEIGHT / img.height))
            tiles.append((NAMES.get(png.stem, png.stem), img.resize((width, HEIGHT),
                                                                    Image.LANCZOS)))
    per_row = -(-len(tiles) // rows)
    lines = [tiles[i:i + per_row] for i in range(0, len(tiles), per_row)]
    width = max(sum(t.width for _, t in line) + GAP * (len(line) + 1) for line in lines)
    height = len(lines) * (HEIGHT + CAPTION + GAP) + GAP
    sheet = Image.new("RGB", (width, height), "#20242b")
    draw, font = ImageDraw.Draw(sheet), _font(30)
    y = GAP
    for line in lines:
        x = GAP
        for name, tile in line:
            draw.text((x, y + 4), name, fill="white", font=font)
            sheet.paste(tile, (x, y + CAPTION))
            x += tile.width + GAP
        y += HEIGHT + CAPTION + GAP
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out, optimize=True)
    return out
