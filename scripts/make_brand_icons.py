"""Draw custom_components/gizwits_device/brand/icon.png (256x256) and icon@2x.png (512x512).

    .venv/bin/python scripts/make_brand_icons.py

A rounded blue square with a white "G" whose bar ends in a small chip (the device), and a
cloud at the top right (the Gizwits cloud). Drawn at 4x and scaled down for smooth edges;
deterministic, so running it again gives the same files.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

BRAND = Path(__file__).resolve().parent.parent / "custom_components" / "gizwits_device" / "brand"
BLUE_TOP = (33, 150, 243)
BLUE_BOTTOM = (13, 71, 161)
WHITE = (255, 255, 255, 255)
SUPERSAMPLE = 4


def draw(size: int) -> Image.Image:
    """The icon at `size` x `size` pixels, RGBA with transparent corners."""
    big = size * SUPERSAMPLE

    def s(value: float) -> int:  # design units: a 256-unit square
        return round(value * big / 256)

    # Vertical gradient, cut to a rounded square.
    gradient = Image.new("RGBA", (big, big))
    pixels = ImageDraw.Draw(gradient)
    for y in range(big):
        t = y / (big - 1)
        color = tuple(round(a + (b - a) * t) for a, b in zip(BLUE_TOP, BLUE_BOTTOM, strict=True))
        pixels.line([(0, y), (big, y)], fill=(*color, 255))
    mask = Image.new("L", (big, big), 0)
    ImageDraw.Draw(mask).rounded_rectangle([0, 0, big - 1, big - 1], radius=s(56), fill=255)
    icon = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    icon.paste(gradient, (0, 0), mask)

    pen = ImageDraw.Draw(icon)
    # "G": an open ring (gap on the right, upper half) and its bar towards the centre.
    cx, cy, radius, stroke = 122, 140, 74, 26
    box = [s(cx - radius), s(cy - radius), s(cx + radius), s(cy + radius)]
    pen.arc(box, start=0, end=320, fill=WHITE, width=s(stroke))
    pen.rectangle([s(cx + 6), s(cy - stroke / 2), s(cx + radius), s(cy + stroke / 2)], fill=WHITE)
    # Round the ring's free end (at -40 degrees on the ring).
    end_x, end_y = (
        cx + radius * 0.766 - stroke / 2 * 0.766,
        cy - radius * 0.643 + stroke / 2 * 0.643,
    )
    pen.ellipse(
        [
            s(end_x - stroke / 2),
            s(end_y - stroke / 2),
            s(end_x + stroke / 2),
            s(end_y + stroke / 2),
        ],
        fill=WHITE,
    )

    # A chip in the middle of the "G": body plus three pins each side.
    chip = (cx - 26, cy - 26, cx + 14, cy + 14)
    pen.rounded_rectangle([s(v) for v in chip], radius=s(6), fill=WHITE)
    for i in range(3):
        y = chip[1] + 8 + i * 12
        pen.rectangle([s(chip[0] - 9), s(y - 2), s(chip[0]), s(y + 2)], fill=WHITE)
        x = chip[0] + 8 + i * 12
        pen.rectangle([s(x - 2), s(chip[1] - 9), s(x + 2), s(chip[1])], fill=WHITE)
    pen.rounded_rectangle(
        [s(chip[0] + 10), s(chip[1] + 10), s(chip[2] - 10), s(chip[3] - 10)],
        radius=s(3),
        fill=(*BLUE_BOTTOM, 255),
    )

    # A small cloud, top right.
    for x0, y0, x1, y1 in ((170, 38, 206, 74), (190, 26, 234, 70), (212, 44, 240, 72)):
        pen.ellipse([s(x0), s(y0), s(x1), s(y1)], fill=WHITE)
    pen.rounded_rectangle([s(170), s(56), s(240), s(74)], radius=s(9), fill=WHITE)

    return icon.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    """Write both files."""
    BRAND.mkdir(parents=True, exist_ok=True)
    for name, size in (("icon.png", 256), ("icon@2x.png", 512)):
        draw(size).save(BRAND / name, optimize=True)
        print(f"wrote {BRAND / name} ({size}x{size})")


if __name__ == "__main__":
    main()
