"""Where the editor's test chat is: in the side panel, or undocked into a panel floating over the
canvas, so the canvas gets the whole width while the conversation goes on (and keeps showing which
step it is at). The same chat is moved, not restarted: the conversation and its variables stay."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui

from builder.chat_panel import ChatPanel
from builder.floating_panel import FloatingPanel
from builder.i18n import _

STORAGE_KEY = "chatloom.test-chat.place"  # where this browser last put the floating chat
# the chat's parts and the classes that make it fill a floating panel
FLOATING_CLASSES = (
    ("root", "h-full no-wrap p-3 min-h-0"),
    ("log", "grow min-h-0 overflow-auto"),
    ("variables", "max-h-32 overflow-auto shrink-0"),
    ("header", "cursor-move select-none"),
)


class ChatDock:
    """The test chat's two places: `docked` (the side panel's chat tab) and a floating panel made
    beside `floating_parent` on first use. `on_change` is told when the chat is undocked or docked."""

    def __init__(self, docked: ui.element, floating_parent: ui.element, on_change: Callable[[], Any]) -> None:
        self.docked, self.floating_parent, self.on_change = docked, floating_parent, on_change
        self.chat: ChatPanel | None = None
        self.floating: FloatingPanel | None = None
        self.undocked = False
        with docked:  # what the chat tab says while the chat floats
            with ui.column().classes("w-full items-start gap-2 py-2").mark("chat-undocked-note") as self.note:
                ui.label(_("The test chat floats over the canvas.")).classes("text-sm text-gray-600")
                ui.button(_("Dock it here"), icon="vertical_split", on_click=self.dock).props("outline dense no-caps")
            self.note.set_visibility(False)

    def attach(self, chat: ChatPanel) -> None:
        """Give the chat its buttons to undock and dock it, and the handle that moves it when it floats."""
        self.chat = chat
        with chat.header:
            ui.space()
            self.handle = ui.button(icon="drag_indicator").props("flat dense round size=sm").classes("cursor-move")
            self.handle.props["aria-label"] = _("Move the chat (arrow keys)")
            self.handle.props["data-move-handle"] = ""
            self.handle.tooltip(_("Drag to move the chat, or use the arrow keys"))
            self.handle.set_visibility(False)
            self.toggle = ui.button(on_click=self.switch).props("flat dense round size=sm").mark("chat-dock")
            with self.toggle:
                self.tip = ui.tooltip("")
        chat.header.props["data-drag-handle"] = ""
        self._label_toggle()

    def switch(self) -> None:
        """Undock a docked chat, dock a floating one."""
        if self.undocked:
            self.dock()
        else:
            self.undock()

    def undock(self) -> None:
        """Float the chat over the canvas, where this browser last put it."""
        if self.chat is None or self.undocked:
            return
        if self.floating is None:
            with self.floating_parent:
                self.floating = FloatingPanel(STORAGE_KEY).mark("chat-floating")
                self.floating.props["role"] = "dialog"
                self.floating.props["aria-label"] = _("Test chat")
        self._place(True)

    def dock(self) -> None:
        """Put the chat back into the side panel."""
        if self.chat is None or not self.undocked or self.floating is None:
            return
        self._place(False)

    def _place(self, floating: bool) -> None:
        """Move the chat into the floating panel or back into the side panel. Floating, it fills its
        panel: the conversation scrolls (and follows new lines) between the header and the text field;
        docked, it is a column in the side panel as before."""
        assert self.chat is not None and self.floating is not None
        chat = self.chat
        self.undocked = floating
        chat.root.move(self.floating if floating else self.docked)
        change = "add" if floating else "remove"
        for part, classes in FLOATING_CLASSES:
            getattr(chat, part).classes(**{change: classes})
        if floating:
            chat.log.props["data-follow"] = ""
            self.floating.show()
        else:
            chat.log.props.pop("data-follow", None)
            self.floating.hide()
        chat.log.update()
        self.handle.set_visibility(floating)
        self.note.set_visibility(floating)
        self._label_toggle()
        self.on_change()

    def _label_toggle(self) -> None:
        words = _("Dock the chat in the side panel") if self.undocked else _("Undock the chat")
        self.toggle.props(f"icon={'vertical_split' if self.undocked else 'open_in_new'}")
        self.toggle.props["aria-label"] = words
        self.tip.text = words
