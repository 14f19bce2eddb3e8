"""Small fixes to Quasar widgets the builder uses, so every page passes an accessibility audit."""

from __future__ import annotations

import json

from nicegui import ui

# Quasar's uploader draws its add button as an unnamed link with the file input inside it
NAME_UPLOAD_JS = """
(() => {
  const root = document.getElementById(%(id)s);
  if (!root) return;
  for (const input of root.querySelectorAll("input[type=file]")) {
    input.setAttribute("aria-label", %(name)s);
    input.setAttribute("aria-hidden", "true");
  }
  for (const button of root.querySelectorAll("a[role=button], button")) {
    if (!button.getAttribute("aria-label")) button.setAttribute("aria-label", %(name)s);
  }
})();
"""


def name_upload(upload: ui.upload, name: str) -> None:
    """Give an uploader's add button and file input a name a screen reader says (once it is drawn)."""
    script = NAME_UPLOAD_JS % {"id": json.dumps(f"c{upload.id}"), "name": json.dumps(name)}
    ui.timer(0.3, lambda: ui.run_javascript(script), once=True)
