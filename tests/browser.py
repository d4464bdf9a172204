"""Headless Chromium for page tests: Debian's ``chromium`` package, installed here when it is missing.

CI runs as root on Debian, so ``make test`` gets the browser by ``apt-get install -y chromium`` on first use;
elsewhere (not root, no apt) the tests that need it skip and say why. Chromium is driven through Playwright
(the ``playwright`` Python package of the dev extra) with Debian's executable: no browser is downloaded.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# Flags that keep Chromium quiet on a machine without network (see README "Development").
FLAGS = ["--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", "--disable-quic"]


def ensure_chromium() -> Path:
    """The Chromium executable; installs Debian's package as root when absent, else skips the test."""
    if CHROMIUM.is_file():
        return CHROMIUM
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip(f"{CHROMIUM} is absent and this user cannot install it (needs root and apt-get: "
                    "`apt-get install -y chromium`)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    done = subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "chromium"], env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:  # a stale package index: refresh it once
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, check=False)
        done = subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "chromium"], env=env,
                              capture_output=True, text=True, check=False)
    if done.returncode != 0 or not CHROMIUM.is_file():
        pytest.fail(f"apt-get install chromium failed ({done.returncode}): {done.stderr[-500:]}")
    return CHROMIUM
