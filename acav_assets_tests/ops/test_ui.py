"""The Dagster UI on the demo results, in a real browser: `dagster-webserver` answers GraphQL
for the asset graph, checks and partitions, and headless Chromium renders the lineage page and
an asset page with its plots. The screenshots are kept under pytest's tmp path (printed)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                                reason="needs Debian's chromium (CI installs it)")

ASSET_QUERY = """{ assetNodes { assetKey { path } groupName isPartitioned partitionKeys
  assetChecksOrError { ... on AssetChecks { checks { name blocking } } } } }"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def graphql(url: str, query: str) -> dict:
    request = urllib.request.Request(f"{url}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        body = json.loads(response.read())
    assert "errors" not in body, body["errors"]
    return body["data"]


def chromium(url: str, *, screenshot: Path | None = None, dump_dom: bool = False) -> str:
    """Headless Chromium on ``url``; its DOM after the page's scripts ran, or a screenshot."""
    with tempfile.TemporaryDirectory() as profile:
        command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                   "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                   "--window-size=1400,900", "--virtual-time-budget=20000"]
        command += ["--dump-dom"] if dump_dom else [f"--screenshot={screenshot}"]
        result = subprocess.run([*command, url], capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")


@pytest.fixture(scope="module")
def webserver(demo_run):
    root, _ = demo_run
    port = free_port()
    env = dict(os.environ, DAGSTER_HOME=str(root / "dagster_home"), ACAV_DATA_ROOT=str(root / "data"),
               HF_HUB_OFFLINE="1")
    log = (root / "webserver.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "dagster_webserver", "-m", "acav_assets.definitions",
                               "-h", "127.0.0.1", "-p", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        try:
            with urllib.request.urlopen(f"{url}/server_info", timeout=5):
                break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise AssertionError((root / "webserver.log").read_text()[-3000:]) from None
            time.sleep(0.5)
    try:
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        log.close()


def test_graphql_serves_the_asset_graph_checks_and_partitions(webserver):
    nodes = {"/".join(n["assetKey"]["path"]): n for n in graphql(webserver, ASSET_QUERY)["assetNodes"]}
    assert {"clips", "tags", "evidence", "captions", "curated_captions", "release", "dataset_stats"} <= set(nodes)
    assert nodes["captions"]["groupName"] == "captions" and nodes["captions"]["isPartitioned"]
    assert nodes["clips"]["partitionKeys"] == ["demo-00000", "demo-00001"]
    assert not nodes["release"]["isPartitioned"]
    checks = {c["name"]: c["blocking"] for c in nodes["captions"]["assetChecksOrError"]["checks"]}
    assert checks == {"captions_quality": True}
    partitions = graphql(webserver, """{ assetNodeOrError(assetKey: {path: ["captions"]}) {
        ... on AssetNode { assetPartitionStatuses { ... on DefaultPartitionStatuses { materializedPartitions } } } } }""")
    assert sorted(partitions["assetNodeOrError"]["assetPartitionStatuses"]["materializedPartitions"]) == ["demo-00000", "demo-00001"]


def test_lineage_and_asset_pages_render_in_chromium(webserver, demo_run, tmp_path_factory):
    assert graphql(webserver, "mutation { setNuxSeen }")["setNuxSeen"]
    shots = tmp_path_factory.mktemp("ui_screenshots")
    lineage_dom = chromium(f"{webserver}/asset-groups", dump_dom=True)
    for group in ("ingest", "experts", "captions", "curation", "release", "statistics"):
        assert f">{group}<" in lineage_dom, group
    chromium(f"{webserver}/asset-groups", screenshot=shots / "asset_lineage.png")

    # The release page lists its plots (markdown-embedded PNGs behind "Show Markdown").
    asset_dom = chromium(f"{webserver}/assets/release", dump_dom=True)
    for plot in ("domain_distribution", "duration_histogram", "caption_lengths"):
        assert plot in asset_dom, plot
    chromium(f"{webserver}/assets/release", screenshot=shots / "release_asset.png")
    for name in ("asset_lineage.png", "release_asset.png"):
        assert png_size(shots / name) == (1400, 900) and (shots / name).stat().st_size > 20_000
    print(f"\nUI screenshots: {shots}")


def test_asset_page_shows_its_plot_when_clicked(webserver, tmp_path_factory):
    """A real click through Selenium and Debian's chromium-driver: the release page opens its
    domain plot (a PNG inside markdown metadata) and the picture has actually loaded."""
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver_path = shutil.which("chromedriver")
    if driver_path is None and not os.environ.get("CI"):
        pytest.skip("needs Debian's chromium-driver (CI installs it)")
    options = webdriver.ChromeOptions()
    for argument in ("--headless", "--no-sandbox", "--disable-gpu", "--window-size=1400,900"):
        options.add_argument(argument)
    options.binary_location = CHROMIUM
    browser = webdriver.Chrome(options=options, service=webdriver.ChromeService(driver_path))
    try:
        browser.get(f"{webserver}/assets/release")
        wait = WebDriverWait(browser, 120)
        row = wait.until(ec.presence_of_element_located((By.XPATH, "//tr[.//*[text()='domain_distribution']]")))
        browser.execute_script("arguments[0].scrollIntoView()", row)
        row.find_element(By.XPATH, ".//a[contains(., 'Show Markdown')]").click()
        image = wait.until(ec.presence_of_element_located((By.XPATH, "//*[@role='dialog']//img")))
        wait.until(lambda _: browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image))
        assert image.get_attribute("src").startswith("data:image/png;base64,")
        shot = tmp_path_factory.mktemp("ui_screenshots") / "release_domain_plot.png"
        browser.save_screenshot(str(shot))
    finally:
        browser.quit()
    width, height = png_size(shot)  # the viewport: the window less what headless Chromium keeps for itself
    assert width == 1400 and height > 600 and shot.stat().st_size > 20_000
    print(f"\nUI plot screenshot: {shot}")
