"""The builder: NiceGUI pages mounted on the runtime's FastAPI app.

`ui.run_with` mounts NiceGUI under the runtime app, so the runtime's own routes (/api, /health,
the channel webhooks later) are matched first and never pass through NiceGUI's middleware.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from fastapi import FastAPI
from nicegui import app as nicegui_app
from nicegui import ui

from builder.access import add_rules
from builder.canvas import TAILWIND
from builder.context import WIDE, Builder
from builder.i18n import _, html_language
from builder.pages import (
    account,
    audit,
    conversations,
    deployments,
    editor,
    flow_list,
    knowledge,
    models,
    privacy,
    templates,
    users,
    versions,
)
from runtime.access import Access
from runtime.asgi import OOPS
from runtime.channels.service import Channels
from runtime.engine import Runtime

TAILWIND_URL = "/_chatloom/tailwind.css"


def add_pages(builder: Builder) -> None:
    """Register every builder page and its access rule (also used by the tests' simulated user)."""
    add_rules(builder.access.rules)
    nicegui_app.on_page_exception(_oops)
    ui.button.default_props("no-caps")  # words as they are written, not shouted in capitals
    flow_list.register(builder)
    versions.register(builder)
    templates.register(builder)
    editor.register(builder)
    deployments.register(builder)
    models.register(builder)
    knowledge.register(builder)
    account.register(builder)
    users.register(builder)
    audit.register(builder)
    privacy.register(builder)
    conversations.register(builder)


def mount(
    app: FastAPI, runtime: Runtime, data_dir: Path, channels: Channels | None = None, access: Access | None = None
) -> Builder:
    """Add the builder to the runtime's app (and its pages' rules to the app's access gate)."""
    builder = Builder(runtime, channels, access or app.state.access)
    add_pages(builder)
    # Tailwind compiled by `make` from the classes our Python uses, not NiceGUI's in-browser
    # compiler: that one restyled the whole page on every change, seconds on a large canvas
    nicegui_app.add_static_file(local_file=TAILWIND, url_path=TAILWIND_URL)
    ui.add_head_html(f'<link rel="stylesheet" href="{TAILWIND_URL}">', shared=True)
    # pages sit in the middle of a wide screen, not in its left half; the editor takes it all (WIDE).
    # Colours dark enough to read (WCAG AA, 4.5:1 on white): links, and the primary colour behind white
    # text on buttons. The page says its language (screen readers pronounce it right).
    ui.add_head_html(
        f"<style>.nicegui-content {{ max-width: 80rem; margin-inline: auto; }} "
        f"body.{WIDE} .nicegui-content {{ max-width: none; }} "
        f"html:root, body {{ --q-primary: {PRIMARY} !important; }} .nicegui-link {{ color: {PRIMARY}; }}</style>"
        f"<script>{page_js()}</script>",
        shared=True,
    )
    ui.run_with(
        app,
        tailwind=False,
        title="Chatloom",
        favicon="🧵",
        storage_secret=_storage_secret(data_dir),
        show_welcome_message=False,
        reconnect_timeout=10,  # a big flow can keep a slow machine's browser busy for seconds: do not drop it
    )
    return builder


PRIMARY = "#1d4ed8"  # blue-700: 6.7:1 against white
# The page's language, and a name for Quasar's loading bar (a progress bar a screen reader announces)
PAGE_JS = """
document.documentElement.lang = %(lang)s;
new MutationObserver(() => {
  for (const bar of document.querySelectorAll(".q-loading-bar:not([aria-label])")) {
    bar.setAttribute("aria-label", %(loading)s);
  }
}).observe(document.documentElement, { childList: true, subtree: true });
"""


def page_js() -> str:
    """PAGE_JS in the builder's language (its words as script strings that cannot end the script)."""

    def script_string(text: str) -> str:
        return json.dumps(text).replace("<", "\\u003c")

    return PAGE_JS % {"lang": script_string(html_language()), "loading": script_string(_("Loading"))}


def _oops() -> None:
    """A page that failed: one sentence, never the exception (NiceGUI's own page names it); the log has it."""
    with ui.column().classes("w-full items-center p-16"):
        ui.label("500").classes("text-6xl")
        ui.label(_(OOPS)).classes("text-xl").mark("oops")
        ui.link(_("Back to the flows"), "/")


def _storage_secret(data_dir: Path) -> str:
    """A per-installation secret for NiceGUI's signed browser storage, made once, readable by the owner only."""
    path = data_dir / "builder-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(32))
    return path.read_text().strip()
