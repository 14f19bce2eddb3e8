"""The preview under a message's text, in a real browser: a flow is untrusted, so markup in its text is
shown as typed and never runs, while variables show as chips and web addresses as links."""

from __future__ import annotations

from typing import Any

from tests.browser.helpers import node, open_editor

ATTACK = '<script>window.owned = 1</script><img src=x onerror="window.owned = 2"> <b>bold</b> {{ name }}'


def test_markup_in_a_message_is_shown_as_text_and_never_runs(server: str, page: Any) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    open_editor(page, f"{server}/flows/lead-capture")
    page.click(node("hello"))
    page.wait_for_selector('[data-settings-of="hello"]')
    page.get_by_label("Message", exact=True).fill(f"{ATTACK}\nMore at https://acme.example/help.")
    preview = page.get_by_text("Preview in the chat").locator("xpath=..")
    preview.get_by_text("<b>bold</b>", exact=False).wait_for()
    assert "<script>window.owned = 1</script><img src=x onerror=" in preview.inner_text()
    assert preview.locator("img, script, b").count() == 0  # nothing from the text became an element
    page.wait_for_timeout(300)
    assert page.evaluate("window.owned") is None and dialogs == []
    assert preview.locator("span", has_text="name").first.inner_text() == "name"  # {{ name }} as a chip
    link = preview.get_by_role("link", name="https://acme.example/help")
    assert link.get_attribute("href") == "https://acme.example/help" and link.get_attribute("target") == "_blank"
