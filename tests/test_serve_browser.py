"""`cnnkit serve` in a real browser: Debian's chromium draws a 1 on the canvas and reads the prediction.

Set CNNKIT_UPDATE_DOCS=1 to also write the screenshot shown in the README (docs/serve.png).
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
webdriver = pytest.importorskip("selenium.webdriver")

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
SHARED = next((p for p in (Path(__file__).resolve().parents[2] / "shared" / "datasets",
                           Path("/work/shared/datasets")) if (p / "mnist").is_dir()), None)
pytestmark = [
    pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="chromium and chromium-driver are not installed "
                       "(apt-get install chromium chromium-driver; .ci/run installs them)"),
    pytest.mark.skipif(SHARED is None, reason="shared datasets folder not found (MNIST trains the model)"),
]
DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    """The seed convnet after one epoch on 6,000 MNIST digits: it knows a drawn 1."""
    import cnnkit
    from cnnkit.datasets import mnist
    from cnnkit.recipes import seed_convnet

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CNNKIT_DATA", str(SHARED))
        (x, y), _ = mnist.load_data()
    cnnkit.set_random_seed(5)
    model = seed_convnet()
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy")
    model.fit(x[:6000, ..., None].astype("float32") / 255, y[:6000], epochs=1, batch_size=64, verbose=0)
    path = tmp_path_factory.mktemp("model") / "model.cnnkit"
    model.save(path)
    return path


@pytest.fixture(scope="module")
def server(model_file):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "cnnkit", "serve", str(model_file), "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(url + "health", timeout=1).read()
                break
            except OSError:
                if process.poll() is not None:
                    pytest.fail(f"cnnkit serve stopped: {process.stdout.read()}")
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def browser(tmp_path):
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1100,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


def test_draw_a_one_and_read_the_prediction(server, browser, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(server)
    WebDriverWait(browser, 30).until(lambda b: "parameters" in b.find_element(By.ID, "model").text)
    canvas = browser.find_element(By.ID, "canvas")
    stroke = ActionChains(browser).move_to_element_with_offset(canvas, 5, -95).click_and_hold()
    for step in range(1, 20):  # a slightly slanted vertical stroke, top to bottom (offsets from the centre)
        stroke.move_by_offset(-1 if step % 2 else 0, 10)
    stroke.release().perform()

    wait = WebDriverWait(browser, 30)
    wait.until(lambda b: b.find_element(By.ID, "prediction").text != "")
    wait.until(lambda b: b.execute_script(
        "const i = document.getElementById('gradcam'); return i.complete && i.naturalWidth > 0;"))
    time.sleep(0.5)  # a request sent during the stroke may still be answered after the last one
    wait.until(lambda b: b.execute_script("return !document.getElementById('status').textContent.startsWith('Draw')"))
    assert browser.find_element(By.ID, "prediction").text == "1"
    bars = browser.find_elements(By.CSS_SELECTOR, "#bars li")
    assert len(bars) == 3 and bars[0].find_element(By.CLASS_NAME, "label").text == "1"
    assert browser.execute_script("return document.getElementById('activations').naturalWidth") > 0
    assert "error" not in browser.find_element(By.ID, "status").get_attribute("class")

    assert browser.save_screenshot(str(tmp_path / "serve.png"))
    assert (tmp_path / "serve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("CNNKIT_UPDATE_DOCS"):
        DOCS.mkdir(exist_ok=True)
        browser.save_screenshot(str(DOCS / "serve.png"))
