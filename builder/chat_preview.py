"""A live preview under a text the bot says: the message as a chat bubble, as the person will read it.

Messages go out as plain text on every channel (Telegram without a parse mode, WhatsApp, Slack, the
web widget), so the preview keeps the line breaks, shows each `{{ variable }}` as a chip (it is
filled in when the message is sent), and shows web addresses as links, as the messaging apps do.
Nothing in the text is ever HTML: a flow is untrusted, so `<b>` or `<script>` show as typed. The
bubble is built of text elements only; no markup from the flow reaches the page.
"""

from __future__ import annotations

import re
from typing import Literal

from nicegui import ui
from nicegui.elements.mixins.text_element import TextElement

from builder.i18n import _
from flows.links import is_safe_link

Piece = tuple[Literal["text", "variable", "logic", "link"], str]
# a `{{ … }}` or `{% … %}` part (filled in when sent), or a web address (up to a space or a quote)
PART = re.compile(r"\{\{(?P<variable>.*?)\}\}|\{%(?P<logic>.*?)%\}|(?P<link>https?://[^\s<>\"'{}]+)", re.DOTALL)
TRAILING = ".,;:!?)]’”"  # punctuation after an address belongs to the sentence
MAX_PIECES = 400  # a long text of many parts is previewed up to here (4096 characters is the message limit)


def pieces(text: str) -> list[Piece]:
    """The text cut into plain runs, variables, template logic and web addresses."""
    found: list[Piece] = []
    at = 0
    for part in PART.finditer(text):
        start, end = part.span()
        if part["link"] is not None:
            link = part["link"].rstrip(TRAILING)
            end = start + len(link)
            if not is_safe_link(link):
                continue
        if start > at:
            found.append(("text", text[at:start]))
        if part["variable"] is not None:
            found.append(("variable", " ".join(part["variable"].split()) or "?"))
        elif part["logic"] is not None:
            found.append(("logic", " ".join(part["logic"].split()) or "?"))
        else:
            found.append(("link", text[start:end]))
        at = end
    if at < len(text):
        found.append(("text", text[at:]))
    return found


class ChatPreview(ui.column):
    """The preview of one text field; `show` redraws it as the text changes."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.shown: str | None = None
        self.classes("w-full gap-1 -mt-1")
        with self:
            ui.label(_("Preview in the chat")).classes("text-xs text-gray-500")
            self.bubble = ui.element("div").classes(
                "max-w-[90%] self-start whitespace-pre-wrap break-words rounded-2xl rounded-tl-sm "
                "bg-gray-100 px-3 py-1.5 text-sm text-gray-900"
            )
        self.show(text)

    def show(self, text: str) -> None:
        """Redraw the bubble for this text (nothing is redrawn when it did not change)."""
        if text == self.shown:
            return
        self.shown = text
        self.set_visibility(bool(text.strip()))  # nothing to say: nothing to preview (the form says if it must)
        self.bubble.clear()
        with self.bubble:
            found = pieces(text)
            for kind, words in found[:MAX_PIECES]:
                if kind == "text":
                    TextElement(tag="span", text=words)
                elif kind == "link":
                    ui.link(words, words, new_tab=True).props('rel="noopener noreferrer"').classes("break-all")
                else:
                    chip = TextElement(tag="span", text=words).classes(
                        "mx-px rounded-md px-1.5 py-px font-mono text-xs "
                        + ("bg-indigo-100 text-indigo-900" if kind == "variable" else "bg-amber-100 text-amber-900")
                    )
                    chip.props["title"] = (
                        _("Filled in with the value of “{name}” when the message is sent", name=words)
                        if kind == "variable"
                        else _("Decided when the message is sent")
                    )
            if len(found) > MAX_PIECES:
                TextElement(tag="span", text=" …")
