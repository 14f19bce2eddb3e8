"""Small fixes to Quasar widgets the builder uses, so every page passes an accessibility audit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import events, ui

# what Quasar says about each file it refused: its name and the rule it broke ("max-file-size", "accept"…)
REJECTED_JS = "(entries) => emit((entries || []).map((e) => ({name: e.file.name, rule: e.failedPropValidation})))"
# a file dragged over the box is dropped into the hidden uploader, which checks it as if chosen
DROP_JS = """(e) => {
  e.preventDefault();
  e.currentTarget.classList.remove("border-blue-500", "bg-blue-50");
  if (e.dataTransfer && e.dataTransfer.files.length) getElement(%(id)d).$refs.qRef.addFiles(e.dataTransfer.files);
}"""
DRAG_OVER_JS = '(e) => { e.preventDefault(); e.currentTarget.classList.add("border-blue-500", "bg-blue-50"); }'
DRAG_LEAVE_JS = '(e) => e.currentTarget.classList.remove("border-blue-500", "bg-blue-50")'


def named_dialog(name: str) -> ui.dialog:
    """A dialog a screen reader announces by `name` (axe: aria-dialog-name; Quasar gives it none)."""
    dialog = ui.dialog()
    dialog.props["aria-label"] = name
    return dialog


class FileDrop(ui.element):
    """A box with a labelled button that chooses files, and that takes files dropped on it.

    The files go through a Quasar uploader kept out of sight (its limits, `accept` and upload route
    are used as they are), because its own add button holds its file input: two controls in one,
    which screen readers cannot tell apart (axe: nested-interactive). `on_rejected` hears the files
    it refused, as (file name, rule) pairs: "max-file-size", "accept", "max-files"…
    """

    def __init__(
        self,
        label: str,
        hint: str,
        *,
        accept: str,
        max_file_size: int,
        on_upload: Callable[[events.UploadEventArguments], Any],
        on_rejected: Callable[[list[tuple[str, str]]], Any],
        multiple: bool = True,
    ) -> None:
        super().__init__("div")
        self.classes(
            "w-full max-w-3xl flex items-center gap-4 rounded-lg border-2 border-dashed border-gray-300 px-4 py-3"
        )
        with self:
            self.upload = (
                ui.upload(multiple=multiple, auto_upload=True, max_file_size=max_file_size, on_upload=on_upload)
                .props(f'accept="{accept}"')
                .classes("hidden")
            )
            self.button = ui.button(label, icon="upload_file").props("unelevated no-caps")
            ui.label(hint).classes("text-sm text-gray-600")
        # opened in the browser, in the click itself: a file chooser needs the person's own gesture
        self.button.on("click", js_handler=f"() => getElement({self.upload.id}).$refs.qRef.pickFiles()")
        self.on("dragover", js_handler=DRAG_OVER_JS)
        self.on("dragleave", js_handler=DRAG_LEAVE_JS)
        self.on("drop", js_handler=DROP_JS % {"id": self.upload.id})
        self.upload.on("rejected", lambda e: on_rejected(_refused(e.args)), js_handler=REJECTED_JS)
        # uploaded files leave the queue, so the same file can be sent again after a change
        self.upload.on("finish", lambda: self.upload.run_method("removeUploadedFiles"))


def _refused(args: Any) -> list[tuple[str, str]]:
    entries = args if isinstance(args, list) else []
    return [(str(e.get("name", "")), str(e.get("rule", ""))) for e in entries if isinstance(e, dict)]
