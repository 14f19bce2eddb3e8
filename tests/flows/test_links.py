"""Links a flow carries are web addresses (or tel:/mailto: where allowed), however an attacker spells them."""

from __future__ import annotations

import pytest

from flows.expressions import ExpressionError
from flows.links import WEB_AND_CONTACT, is_safe_link, link_problem
from nodes.api import NodeContext
from nodes.messages.send import NODE as SEND

REFUSED = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "\x01javascript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "java\rscript:alert(1)",
    "javascript&colon;alert(1)",
    "javascript%3Aalert(1)",
    "data:text/html,<script>alert(1)</script>",
    "data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "blob:https://example.com/uuid",
    "//evil.example/x",
    "https:///nohost",
    "http://exa mple.com/",
    "ftp://example.com/file",
    "",
]


@pytest.mark.parametrize("url", REFUSED)
def test_addresses_that_are_not_web_links_are_refused(url: str) -> None:
    assert link_problem(url) is not None
    assert not is_safe_link(url, WEB_AND_CONTACT)


@pytest.mark.parametrize("url", ["https://example.com/a.pdf", "http://example.com/x?a=1#b", "HTTPS://EXAMPLE.COM"])
def test_web_links_are_accepted(url: str) -> None:
    assert link_problem(url) is None


def test_tel_and_mailto_only_where_the_caller_allows_them() -> None:
    assert link_problem("tel:+441234567") is not None
    assert link_problem("tel:+441234567", WEB_AND_CONTACT) is None
    assert link_problem("mailto:ann@example.com", WEB_AND_CONTACT) is None


def test_an_attachment_address_is_checked_when_the_flow_is_checked() -> None:
    errors = SEND.inspect({"text": "x", "media_kind": "file", "media_url": "javascript:alert(1)"}, 1).errors
    assert any("Attachment URL" in e and "https:" in e for e in errors), errors
    assert SEND.inspect({"text": "x", "media_kind": "file", "media_url": "https://example.com/a.pdf"}, 1).errors == []


async def test_an_attachment_address_filled_in_from_a_variable_is_checked_when_it_runs() -> None:
    settings = SEND.parse({"text": "x", "media_kind": "image", "media_url": "{{ link }}"}, 1)
    with pytest.raises(ExpressionError, match="cannot be used"):
        await SEND.run(NodeContext(vars={"link": "javascript:alert(1)"}), settings)
    step = await SEND.run(NodeContext(vars={"link": "https://example.com/a.png"}), settings)
    assert step.messages[0].media is not None and step.messages[0].media.url == "https://example.com/a.png"
