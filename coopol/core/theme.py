"""The party's colour as CSS custom properties, readable whatever colour a party picks.

`color = "#0a7"` in `coopol.toml` is the brand: the header's band and the landing's frame wear it as given.
Links and buttons need a text contrast of at least 4.5:1 (WCAG AA), which a light green or yellow lacks on
white, so the accent used for text is the brand darkened (light scheme) or lightened (dark scheme) just
enough. Pure functions; the stylesheet is built once per app and served at `/theme.css` (the CSP allows no
inline style).
"""

from __future__ import annotations

DEFAULT_COLOR = "#b3123c"
LIGHT_BG = (255, 255, 255)  # --surface of the light scheme
DARK_BG = (27, 29, 33)  # --surface of the dark scheme (#1b1d21)
MIN_CONTRAST = 4.6  # a little above AA's 4.5, so rounding never lands below it


def parse_color(text: str) -> tuple[int, int, int]:
    """`#rgb` or `#rrggbb` (config.py has checked the form)."""
    digits = text.strip().lstrip("#")
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def to_hex(rgb: tuple[int, int, int]) -> str:
    return "#" + "".join(f"{max(0, min(255, round(c))):02x}" for c in rgb)


def luminance(rgb: tuple[int, int, int]) -> float:
    def channel(c: float) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def mix(a: tuple[int, int, int], b: tuple[int, int, int], share_of_b: float) -> tuple[int, int, int]:
    return tuple(round(x + (y - x) * share_of_b) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def readable_on(color: tuple[int, int, int], background: tuple[int, int, int]) -> tuple[int, int, int]:
    """`color`, moved towards black or white (whichever is away from `background`) until it reads."""
    target = (0, 0, 0) if luminance(background) > 0.5 else (255, 255, 255)
    for step in range(0, 101):
        candidate = mix(color, target, step / 100)
        if contrast(candidate, background) >= MIN_CONTRAST:
            return candidate
    return target


def theme_brand(color: str | None) -> str:
    """The brand colour as `#rrggbb`."""
    return to_hex(parse_color(color or DEFAULT_COLOR))


def theme_css(color: str | None) -> str:
    brand = parse_color(color or DEFAULT_COLOR)
    light = readable_on(brand, LIGHT_BG)
    dark = readable_on(brand, DARK_BG)
    return (
        f":root {{ --brand: {to_hex(brand)}; --accent: {to_hex(light)}; "
        f"--accent-soft: {to_hex(mix(LIGHT_BG, brand, 0.08))}; --chart-1: {to_hex(light)}; }}\n"
        "@media (prefers-color-scheme: dark) {\n"
        f"  :root {{ --accent: {to_hex(dark)}; --accent-soft: {to_hex(mix(DARK_BG, brand, 0.18))}; "
        f"--chart-1: {to_hex(dark)}; }}\n"
        "}\n"
    )
