"""docs/getting-started.md, walked in Chromium: every step the guide tells works, and every picture in
the guide is taken here. `make docs` writes them into docs/getting-started/ (CHATLOOM_WRITE_DOCS=1);
otherwise they go to test-artifacts/getting-started/, so the guide's pictures never go stale unseen."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from tests.browser.helpers import draft as _draft
from tests.browser.helpers import node as _node

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "getting-started.md"
PICTURES = (
    ROOT / "docs" / "getting-started"
    if os.environ.get("CHATLOOM_WRITE_DOCS")
    else ROOT / "test-artifacts" / "getting-started"
)


def _picture(page: Any, name: str, taken: list[str]) -> None:
    PICTURES.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(300)  # let a panel that just opened finish drawing before the picture
    page.screenshot(path=str(PICTURES / f"{name}.png"))
    taken.append(name)


def test_the_getting_started_guide_works_and_its_pictures_are_taken_here(
    server: str, page: Any, tmp_path: Path
) -> None:
    taken: list[str] = []
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(server)
    page.get_by_text("Lead capture").first.wait_for()
    _picture(page, "1-flow-list", taken)

    page.get_by_role("button", name="New flow").click()
    page.get_by_label("Name", exact=True).fill("My leads")
    page.keyboard.press("Enter")
    page.wait_for_url("**/flows/my-leads")
    page.wait_for_selector(_node("start"))
    page.wait_for_function("window.did_handshake")
    _picture(page, "2-new-flow", taken)

    page.locator('[data-node-type="message.send"]').dblclick()
    page.wait_for_selector(_node("send-1"))
    page.click(_node("send-1"))
    page.wait_for_selector('[data-settings-of="send-1"]')
    page.get_by_label("Message", exact=True).fill("Hi! Let's keep in touch.")
    page.locator(_node("send-1")).get_by_text("Let's keep in touch").wait_for()
    page.get_by_label("Next step").click()
    _picture(page, "3-a-message", taken)
    page.keyboard.press("Escape")

    page.locator('[data-node-type="input.email"]').dblclick()
    page.wait_for_selector(_node("email-1"))
    page.click(_node("email-1"))
    page.wait_for_selector('[data-settings-of="email-1"]')
    page.get_by_label("Question", exact=True).fill("Your email?")
    page.get_by_label("Save answer in variable", exact=True).fill("email")
    page.click(_node("send-1"))
    page.wait_for_selector('[data-settings-of="send-1"]')
    page.get_by_label("Next step").fill("Ask for an email")
    page.get_by_role("option", name=re.compile("Ask for an email")).click()
    page.wait_for_function("document.querySelectorAll('.vue-flow__edge').length >= 1")
    page.get_by_role("button", name="Show the whole flow").first.click()
    page.click(_node("start"))  # the start leads to the message
    page.wait_for_selector('[data-settings-of="start"]')
    page.get_by_label("Next step").fill("Send message")
    page.get_by_role("option", name=re.compile("Send message")).click()
    page.wait_for_function("document.querySelectorAll('.vue-flow__edge').length >= 2")
    _picture(page, "4-connected", taken)

    page.get_by_role("tab", name="Test chat").click()
    page.get_by_text("Your email?").last.wait_for()
    page.get_by_placeholder("Type a message").fill("ada@example.com")
    page.get_by_placeholder("Type a message").press("Enter")
    page.get_by_text("ada@example.com").last.wait_for()
    _picture(page, "5-test-chat", taken)

    flow = _draft(tmp_path, "my-leads")
    assert {(e.source, e.target) for e in flow.edges} == {("start", "send-1"), ("send-1", "email-1")}

    # what the guide shows next: a whole flow as it opens, a choice's settings and a condition's
    page.goto(f"{server}/flows/lead-capture")
    page.wait_for_selector(_node("start"))
    page.wait_for_function("window.did_handshake")
    _picture(page, "6-lead-capture", taken)
    for flow_id, step, name in (("faq-menu", "menu", "7-a-choice"), ("nps-survey", "segment", "8-a-condition")):
        page.goto(f"{server}/flows/{flow_id}?focus={step}")
        page.wait_for_selector(f'[data-settings-of="{step}"] :is(input, textarea)')
        _picture(page, name, taken)

    guide = GUIDE.read_text(encoding="utf-8")
    shown = re.findall(r"\(getting-started/([\w-]+)\.png\)", guide)
    assert shown == taken, "each picture in the guide is taken by this test, in the guide's order"
