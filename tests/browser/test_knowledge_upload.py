"""The knowledge page's uploader in a real browser: a plain button opens the file chooser, a chosen file
is read into the knowledge base, and files it cannot take are named with the reason, before sending."""

from __future__ import annotations

from typing import Any

from runtime.ai.documents import MAX_SIZE


def _choose(page: Any, files: list[dict[str, Any]]) -> None:
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Add documents").click()
    assert chooser.value.is_multiple()
    chooser.value.set_files(files)


def test_documents_are_chosen_with_a_button_and_refused_in_words(server: str, page: Any) -> None:
    page.goto(f"{server}/flows/lead-capture/knowledge")
    page.wait_for_function("window.did_handshake")
    _choose(page, [{"name": "faq.md", "mimeType": "text/markdown", "buffer": b"# Gift cards\n\nThey never expire."}])
    page.get_by_text("faq.md", exact=True).wait_for(timeout=60_000)
    page.get_by_role("button", name="Remove “faq.md”").wait_for()

    too_big = {"name": "film.pdf", "mimeType": "application/pdf", "buffer": b"%PDF" + b"0" * MAX_SIZE}
    slides = {"name": "deck.pptx", "mimeType": "application/vnd.ms-powerpoint", "buffer": b"PK\x03\x04"}
    _choose(page, [too_big, slides])
    problem = page.locator(".text-negative").first
    problem.get_by_text("“film.pdf” is larger than 20 MB.").wait_for()
    problem.get_by_text("“deck.pptx” is a kind of file the knowledge base cannot read.").wait_for()

    _choose(page, [{"name": "faq.md", "mimeType": "text/markdown", "buffer": b"# Gift cards\n\nThey last a year."}])
    page.get_by_text("Added “faq.md”").wait_for(timeout=60_000)  # the same name again replaces it
