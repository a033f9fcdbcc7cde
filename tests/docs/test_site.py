"""The built documentation site in a real headless browser (Chromium through Selenium and chromedriver).

Run after ``python -m sphinx -W --keep-going -b html docs docs/_build/html``:
``python -m pytest -m docs -o addopts="" tests/docs`` (``METARL_NEURO_SITE`` names another built site). Every page
is loaded in Chromium; every internal link must reach an existing page (and, for ``#anchor`` links, an element with
that id), every image must have decoded (``naturalWidth > 0``), no page may log a severe console error, and every
tutorial that draws must show its figures. Screenshots of the landing page and of a tutorial are written to
``docs/_build/screenshots/`` for a person to look at.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import pytest

pytestmark = pytest.mark.docs

SITE = Path(os.environ.get("METARL_NEURO_SITE", Path(__file__).resolve().parents[2] / "docs" / "_build" / "html"))
SHOTS = SITE.parent / "screenshots"


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not chromium or not driver_path:
        pytest.skip("Chromium and chromedriver are needed (Debian: apt-get install chromium chromium-driver)")
    if not (SITE / "index.html").exists():
        pytest.fail(f"no built site at {SITE}: run python -m sphinx -W --keep-going -b html docs docs/_build/html")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1300,1800",
                "--allow-file-access-from-files"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "SEVERE"})
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=driver_path), options=options)
    yield driver
    driver.quit()


def _pages() -> list[Path]:
    return sorted(p for p in SITE.rglob("*.html") if "_static" not in p.parts and "_sources" not in p.parts)


def test_every_page_renders_with_its_links_and_images(browser):
    pages = _pages()
    assert len(pages) > 50, f"only {len(pages)} pages built under {SITE}"
    ids: dict[Path, set[str]] = {}
    links: list[tuple[Path, Path, str]] = []
    broken_images, console_errors = [], []
    for page in pages:
        browser.get(page.as_uri())
        ids[page] = set(browser.execute_script("return Array.from(document.querySelectorAll('[id]'), e => e.id)"))
        for image in browser.execute_script(
                "return Array.from(document.images, i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0])"):
            if not image[1]:
                broken_images.append(f"{page.relative_to(SITE)}: {image[0]}")
        for href in browser.execute_script("return Array.from(document.querySelectorAll('a[href]'), a => a.href)"):
            url = urlparse(href)
            if url.scheme != "file":
                continue  # external links are not followed (no network on the build machines)
            target, anchor = urldefrag(href)
            links.append((page, Path(unquote(urlparse(target).path)), unquote(anchor)))
        console_errors += [f"{page.relative_to(SITE)}: {entry['message']}" for entry in browser.get_log("browser")
                           if entry["level"] == "SEVERE" and "favicon" not in entry["message"]]
    broken_links = []
    for page, target, anchor in links:
        if target.is_dir():
            target = target / "index.html"
        if not target.exists():
            broken_links.append(f"{page.relative_to(SITE)} -> {target} (no such page)")
        elif anchor and target.suffix == ".html" and target in ids and anchor not in ids[target]:
            broken_links.append(f"{page.relative_to(SITE)} -> {target.relative_to(SITE)}#{anchor} (no such anchor)")
    assert not broken_links, "\n".join(sorted(set(broken_links)))
    assert not broken_images, "\n".join(broken_images)
    assert not console_errors, "\n".join(console_errors)


@pytest.mark.parametrize("page", ["index.html", "tutorials/two_step.html"])
def test_screenshots_for_a_person_to_look_at(browser, page):
    browser.get((SITE / page).as_uri())
    height = browser.execute_script("return Math.min(document.body.scrollHeight, 6000)")
    browser.set_window_size(1300, max(900, height))
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / (page.replace("/", "_").replace(".html", ".png"))
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    assert browser.execute_script("return document.querySelector('h1') !== null")
    browser.set_window_size(1300, 1800)


def test_every_tutorial_that_draws_shows_its_figures(browser):
    """A tutorial cell that draws must leave its figure on the page (a backend forced to Agg once left none)."""
    sources = sorted((Path(__file__).resolve().parents[2] / "docs" / "tutorials").glob("*.md"))
    assert sources, "no tutorial sources"
    missing = []
    for source in sources:
        text = source.read_text()
        drawn = text.count("analysis.plot_") + text.count(".plot(") + text.count("Image(")
        if not drawn or source.stem == "index":
            continue
        browser.get((SITE / "tutorials" / f"{source.stem}.html").as_uri())
        shown = browser.execute_script(
            "return document.querySelectorAll('.cell_output img').length")
        if shown < 1:
            missing.append(f"{source.name}: {drawn} drawing call(s), no figure on the page")
    assert not missing, "\n".join(missing)
