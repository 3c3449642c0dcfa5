"""Draw the PWA icons (static/icons/*.png) with Pillow: a white house with a signal arc on blue.

Run from the repository root: `.venv/bin/python tests/e2e/make_icons.py`. The PNGs are committed;
rerun only to change the design. Maskable: full-bleed background, artwork inside the 80% safe zone.
"""
from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parents[2] / "static" / "icons"
BLUE = (11, 83, 148, 255)
WHITE = (255, 255, 255, 255)
YELLOW = (255, 205, 0, 255)


def draw_art(draw: ImageDraw.ImageDraw, size: int, scale: float) -> None:
    """House + signal arcs centred in a box `scale` times the icon size."""
    s = size * scale
    ox = oy = (size - s) / 2
    def p(x, y):
        return (ox + x * s, oy + y * s)
    draw.polygon([p(0.18, 0.50), p(0.50, 0.22), p(0.82, 0.50)], fill=WHITE)  # roof
    draw.rectangle([p(0.26, 0.48), p(0.74, 0.82)], fill=WHITE)  # walls
    draw.rectangle([p(0.44, 0.62), p(0.56, 0.82)], fill=BLUE)  # door
    w = max(2, int(s * 0.035))
    for r in (0.10, 0.17):  # Wi-Fi-like arcs above the roof: "digital"
        cx, cy = p(0.50, 0.16)
        rr = r * s
        draw.arc([cx - rr, cy - rr, cx + rr, cy + rr], start=215, end=325, fill=YELLOW, width=w)


def icon(size: int, maskable: bool) -> Image.Image:
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    if maskable:
        d.rectangle([0, 0, size, size], fill=BLUE)
        draw_art(d, size, 0.62)
    else:
        d.rounded_rectangle([0, 0, size - 1, size - 1], radius=size // 5, fill=BLUE)
        draw_art(d, size, 0.86)
    return img


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    icon(192, False).save(OUT / "icon-192.png", optimize=True)
    icon(512, False).save(OUT / "icon-512.png", optimize=True)
    icon(512, True).save(OUT / "icon-maskable-512.png", optimize=True)
    print("icons written to", OUT)


if __name__ == "__main__":
    main()
