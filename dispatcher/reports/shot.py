"""A report's HTML as a manager's browser shows it: headless Chromium, a full-page PNG.

    python -m dispatcher.reports.shot docs/report-sample.html docs/images/report-sample.png
                                      [--width 1280]

Debian's chromium and chromedriver (``make install-test``) through selenium; the page
is laid out at ``--width`` CSS pixels and shot whole, as tall as it is, then saved in
256 colours (Pillow).
"""

from __future__ import annotations

import argparse
import base64
import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@contextmanager
def browser(width: int = 1280, height: int = 900) -> Iterator[Any]:
    """A headless Chromium driven by selenium, closed on leaving."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--lang=zh-CN",
                f"--window-size={width},{height}", "--hide-scrollbars"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def open_page(driver: Any, html: Path, width: int = 1280) -> None:
    """Load ``html`` at ``width`` CSS pixels and wait until its images have loaded."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False})
    driver.get(html.resolve().as_uri())
    driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "Promise.all([...document.images].map(i => i.decode().catch(() => null)))"
        ".then(() => done(true));")


def full_page_png(driver: Any) -> bytes:
    """The whole page, as tall and as wide as its content."""
    size = driver.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1}})
    return base64.b64decode(shot["data"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", type=Path)
    parser.add_argument("png", type=Path)
    parser.add_argument("--width", type=int, default=1280, help="CSS pixels (default 1280)")
    args = parser.parse_args(argv)
    if not args.html.is_file():
        return _fail(f"{args.html}: no such file")
    if not args.png.parent.is_dir():
        return _fail(f"{args.png}: no folder {args.png.parent}")
    if not 320 <= args.width <= 4096:
        return _fail(f"--width {args.width}: from 320 to 4096 CSS pixels")
    try:
        with browser(args.width) as driver:
            open_page(driver, args.html, args.width)
            png = full_page_png(driver)
    except Exception as exc:       # selenium's WebDriverException, chromium missing …
        first = next(iter(str(exc).strip().splitlines()), type(exc).__name__)
        return _fail(f"headless Chromium failed ({CHROMIUM}, {DRIVER}): {first}")
    small(png).save(args.png, optimize=True)
    print(f"wrote {args.png}")
    return 0


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def small(png: bytes) -> Any:
    """The shot in 256 colours: a long page of tables and four charts in a quarter of the
    bytes, the charts' colour ramps kept."""
    from PIL import Image

    return Image.open(io.BytesIO(png)).convert("RGB").quantize(
        colors=256, method=Image.Quantize.MEDIANCUT)


if __name__ == "__main__":
    sys.exit(main())
