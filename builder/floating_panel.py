"""A panel that floats over the page: moved by a handle (pointer or arrow keys), resized from its
corner, kept whole inside the window, and put back where it was in this browser (localStorage)."""

from __future__ import annotations

from nicegui import ui


class FloatingPanel(ui.element, component="floating_panel.js"):
    """Children marked `data-drag-handle` drag it, `data-move-handle` move it with the arrow keys,
    `data-follow` stay scrolled to their end; `storage_key` names where its place is remembered."""

    def __init__(self, storage_key: str) -> None:
        super().__init__()
        self._props["storage-key"] = storage_key
        self.classes("flex flex-col rounded-xl border border-gray-300 bg-white shadow-2xl")

    def show(self) -> None:
        """Show it, inside the window as it is now."""
        self.set_visibility(True)
        self.run_method("fit")

    def hide(self) -> None:
        self.set_visibility(False)
