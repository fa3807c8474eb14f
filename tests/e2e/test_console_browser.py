"""The console (``GET /_local/``) in a real headless browser: Debian's chromium driven by selenium
through ``/usr/bin/chromedriver``.  Load the page, find a ticket, see an SPP change appear in its
timeline without reloading, read a sent email from the outbox; its screenshot, with
``UPDATE_SCREENSHOT=1``, becomes docs/console.png.

CI installs chromium (``.ci/run``), so there this test runs; elsewhere it is skipped, saying so,
only when chromium is not installed (``apt-get install -y chromium chromium-driver``).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from devkit import template as tpl

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SCREENSHOT = tpl.ROOT / "docs" / "console.png"

if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
    if os.environ.get("CI"):
        pytest.fail("CI must have chromium and chromedriver: .ci/run installs them", pytrace=False)
    pytest.skip(
        "chromium or chromedriver not installed (apt-get install -y chromium chromium-driver)", allow_module_level=True
    )

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture(scope="module")
def browser():
    profile = tempfile.mkdtemp(prefix="console-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        "--window-size=1500,1900",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _send(url, method, path, body=None, headers=None):
    data = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url + path, data=data, method=method, headers=headers or {})
    if data is not None and not req.has_header("Content-type"):
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.status, resp.read()


def _read(read):
    """``read()`` of what the page shows, again if the console re-rendered it meanwhile (it
    re-renders on any change the local run sees, e.g. the stream pump after a reset)."""
    for _ in range(20):
        try:
            return read()
        except StaleElementReferenceException:
            time.sleep(0.05)
    return read()


def test_the_console_finds_a_ticket_shows_its_changes_live_and_reads_the_outbox(local_run, browser, tmp_path):
    url = local_run.url
    wait = WebDriverWait(browser, 30)
    browser.get(url + "/_local/")
    assert "Ticket hub" in browser.title
    wait.until(EC.text_to_be_present_in_element((By.ID, "live"), "live"))

    # find demo ticket 1001 by its SPP number, and see it through every dialect
    box = browser.find_element(By.ID, "q")
    box.clear()
    box.send_keys("8FC95B0F")
    browser.find_element(By.CSS_SELECTOR, "#find button").click()
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, '#results li[data-id="1001"]')))
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, '#views .view[data-dialect="spp"]')))
    dialects = _read(
        lambda: {v.get_attribute("data-dialect") for v in browser.find_elements(By.CSS_SELECTOR, "#views .view")}
    )
    assert {"canonical", "spp", "kapture", "servicedesk", "myhrw"} <= dialects

    # an SPP change made elsewhere appears in the timeline without a reload
    subject = f"Console sees {uuid.uuid4().hex[:8]}"
    status, _ = _send(
        url, "PUT", "/api/tickets/8FC95B0F", {"subject": subject}, {"Authorization": "Bearer tkt_demo_spp"}
    )
    assert status == 200
    wait.until(EC.text_to_be_present_in_element((By.ID, "timeline"), subject))

    def newest_entry():
        entry = browser.find_element(By.CSS_SELECTOR, "#timeline li.entry")
        return entry.get_attribute("data-dialect"), entry.text

    newest_dialect, newest_text = _read(newest_entry)
    assert newest_dialect == "spp"
    assert "title" in newest_text and subject in newest_text and "→" in newest_text
    spp_view = _read(lambda: browser.find_element(By.CSS_SELECTOR, '#views .view[data-dialect="spp"]').text)
    assert subject in spp_view

    # a ParticleSpace update that notifies by email: the email shows in the outbox
    contact = f"console-{uuid.uuid4().hex[:8]}@example.com"
    form = (
        "title=Leaking+faucet&description=Leak+under+the+sink&status=ON_HOLD&notify=1&time=&type=email"
        f"&contacts={contact.replace('@', '%40')}&automated=1"
    ).encode()
    headers = {"Authorization": "Bearer tkt_demo_particlespace", "Content-Type": "application/x-www-form-urlencoded"}
    status, _ = _send(url, "PUT", "/api/v1/ticket/tic_0c48sol", form, headers)
    assert status == 200
    wait.until(EC.text_to_be_present_in_element((By.ID, "outbox"), contact))
    email = _read(
        lambda: next(
            (e.find_element(By.CSS_SELECTOR, ".subject").text, e.find_element(By.TAG_NAME, "pre").text)
            for e in browser.find_elements(By.CSS_SELECTOR, "#emails .email")
            if contact in e.text
        )
    )
    assert email[0]
    assert email[1].strip()

    # credentials and a curl per route
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#routes .curl pre")))
    curls = _read(lambda: [p.text for p in browser.find_elements(By.CSS_SELECTOR, "#routes .curl pre")])
    assert any("/api/tickets/" in c and "tkt_demo_spp" in c for c in curls)

    browser.execute_script("window.scrollTo(0, 0)")
    time.sleep(0.3)
    shot = tmp_path / "console.png"
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("UPDATE_SCREENSHOT"):  # UPDATE_SCREENSHOT=1 pytest tests/e2e/test_console_browser.py
        shutil.copyfile(shot, SCREENSHOT)
