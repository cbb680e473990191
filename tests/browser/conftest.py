"""What the browser tests share: one headless Chromium per test module (Debian's, never
playwright's own download)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .lab import ARGS, CHROMIUM


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()
