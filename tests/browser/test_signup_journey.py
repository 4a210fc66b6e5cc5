"""A person's first minutes, in headless Chromium against this run's gunicorn.

Sign up at one tenant, create a project, see it counted in the dashboard's chart, then carry the
session cookie to another tenant's host and find it worthless there.
"""
import tempfile
import uuid

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as until
from selenium.webdriver.support.wait import WebDriverWait

from harness import new_tenant
from localplatform import config

pytestmark = pytest.mark.e2e
SCREENSHOTS = config.LOCAL / "screenshots"


@pytest.fixture
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1280,900", f"--user-data-dir={tempfile.mkdtemp(prefix='tenantry-chromium-')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def fill(driver, **fields) -> None:
    for name, value in fields.items():
        element = driver.find_element(By.NAME, name)
        element.clear()
        element.send_keys(value)
    driver.find_element(By.CSS_SELECTOR, "main form [type=submit]").click()


def test_sign_up_create_a_project_see_it_charted_and_stay_inside_the_tenant(web_app, browser):
    acme, globex = new_tenant(), new_tenant()
    a, b = (f"http://{t.host}:{web_app.web_port}" for t in (acme, globex))
    wait = WebDriverWait(browser, 15)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    browser.get(f"{a}/accounts/signup/")
    fill(browser, email=f"ada-{uuid.uuid4().hex[:6]}@example.com", full_name="Ada Lovelace",
         password1="analytical engine 1843", password2="analytical engine 1843")
    wait.until(until.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=current-user]")))

    browser.get(f"{a}/projects/new/")
    fill(browser, name="Difference Engine")
    wait.until(until.text_to_be_present_in_element((By.TAG_NAME, "main"), "Difference Engine"))

    browser.get(f"{a}/dashboard/analytics/")
    charted = wait.until(lambda d: d.execute_script(
        "const charts = [...document.querySelectorAll('canvas')].map(c => window.Chart && Chart.getChart(c));"
        "if (!charts.length || charts.some(c => !c)) return null;"
        "return charts.map(c => c.data.datasets.flatMap(s => s.data).reduce((x, y) => x + Number(y), 0));"))
    browser.save_screenshot(str(SCREENSHOTS / "analytics.png"))
    assert charted and all(total == 1 for total in charted), charted

    session = browser.get_cookie("sessionid")
    assert session is not None
    browser.get(f"{b}/")
    browser.add_cookie({"name": "sessionid", "value": session["value"], "path": "/"})
    browser.get(f"{b}/dashboard/")
    wait.until(until.url_contains("/accounts/login/"))
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-testid=current-user]")
    browser.save_screenshot(str(SCREENSHOTS / "other-tenant.png"))
