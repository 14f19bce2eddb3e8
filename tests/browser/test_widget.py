"""The web chat widget on a page, in a real browser: open the bubble, answer a button, reload,
find the history."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def test_open_the_bubble_press_a_button_reload_and_find_the_history(server: str, page: Any, tmp_path: Path) -> None:
    env = {**os.environ, "CHATLOOM_DATA": str(tmp_path / "data")}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "chatloom", "deploy", "web", "site", "faq-menu", "--webhook", server],
        env=env, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f'<script src="{server}/widget/site.js" async></script>' in done.stdout
    page.goto(f"{server}/widget/site/preview")
    page.get_by_role("button", name="Open the chat").click()
    page.get_by_text("Hello! Pick a topic").wait_for()
    page.locator(".cl-buttons button", has_text="Prices").click()
    page.get_by_text("Plans start at $9 a month").wait_for()
    page.reload()
    page.get_by_text("Plans start at $9 a month").wait_for()  # the chat reopens with its history
    assert page.locator(".cl-in").first.inner_text() == "Prices"
    page.locator(".chatloom-widget input").fill("That's all")
    page.locator(".chatloom-widget input").press("Enter")
    page.locator(".cl-in", has_text="That's all").wait_for()
    page.get_by_role("button", name="Send").wait_for()  # a real send button, named for screen readers
    assert page.locator(".cl-title").inner_text() == "Site"  # the bot's name heads the chat
    page.get_by_role("button", name="Close the chat").click()
    page.locator(".cl-panel").wait_for(state="hidden")
    page.reload()
    page.get_by_role("button", name="Open the chat").wait_for()
    assert not page.locator(".cl-panel").is_visible()  # closed stays closed
