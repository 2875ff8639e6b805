"""Debian's Chromium, headless, driven by Selenium through chromedriver (the on-device app's
test and bench/ondevice.py)."""

from __future__ import annotations

import shutil

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
# As root, without a sandbox; no background networking (this machine refuses it, and
# Chromium would retry at every start).
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def missing() -> str | None:
    if shutil.which(CHROMIUM) and shutil.which(DRIVER):
        return None
    return "Debian's chromium and chromium-driver are missing: `make test` installs them"


def chromium():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(DRIVER), options=options)
