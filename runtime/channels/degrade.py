"""What a channel cannot show becomes something it can, never an error.

More buttons than the channel allows, or titles too long for it, become a numbered list in the
text; the answer "2" or a button's title is then read as that button (see `read_answer`). Audio a
channel cannot play becomes a link.
"""

from __future__ import annotations

from nodes.api import Button, Outbound
from runtime.channels.base import Capabilities


def degrade(message: Outbound, caps: Capabilities) -> Outbound:
    """The message as this channel can show it."""
    text, buttons, media = message.text, message.buttons, message.media
    if buttons and (len(buttons) > caps.max_buttons or any(len(b.title) > caps.button_title for b in buttons)):
        lines = [f"{i}. {b.title}" for i, b in enumerate(buttons, 1)]
        text = "\n".join([text, "", *lines, "", "Answer with a number or the words."] if text else lines)
        buttons = ()
    if media is not None and media.kind == "audio" and not caps.audio:
        text = f"{text}\n{media.url}" if text else media.url
        media = None
    if len(text) > caps.max_text:
        text = text[: caps.max_text - 1] + "…"
    return Outbound(text=text, buttons=buttons, media=media, multiple=message.multiple)


def read_answer(text: str, offered: list[Button]) -> str | None:
    """The value of the offered button a typed answer names ("2", or its title in any case), else None."""
    wanted = text.strip().rstrip(".").casefold()
    if not wanted or not offered:
        return None
    if wanted.isdigit() and 1 <= int(wanted) <= len(offered):
        chosen = offered[int(wanted) - 1]
        return chosen.value or chosen.title
    for b in offered:
        if wanted == b.title.casefold():
            return b.value or b.title
    return None
