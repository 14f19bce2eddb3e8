"""What a step's card on the canvas shows: a category colour and icon, the step's title, what it
says (the message, the question, the condition in words), the buttons it shows, the variable it
saves to, and each exit in words.

The canvas draws this data; it never sees a node's raw settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from builder.i18n import N_, _
from flows.models import Flow, Node
from nodes.api import NodeType, SettingsError
from nodes.registry import Registry

# category → (the colour of its cards and palette entries, icon when the type names none), in the
# order the palette lists them: what most flows use first
CATEGORIES: Mapping[str, tuple[str, str]] = {
    "Messages": ("#2563eb", "chat_bubble"),
    "Inputs": ("#ea580c", "help_outline"),
    "Logic": ("#7c3aed", "call_split"),
    "Flow": ("#475569", "route"),
    "Integrations": ("#059669", "cloud_sync"),
    "AI": ("#db2777", "auto_awesome"),
}
OTHER = ("#64748b", "extension")  # a plugin's own category
# words for the exits most steps share; a type's own `exits` come first
PORT_WORDS: Mapping[str, str] = {  # translated where they are shown
    "out": N_("next"),
    "valid": N_("answered"),
    "invalid": N_("not understood"),
    "timeout": N_("no answer in time"),
    "error": N_("if it fails"),
    "else": N_("otherwise"),
    "fallback": N_("none fits"),
    "found": N_("found"),
    "none": N_("nothing found"),
    "detected": N_("language known"),
    "unknown": N_("not sure"),
    "yes": N_("yes"),
    "no": N_("no"),
}
TEXT_LIMIT = 240  # characters of what a step says that reach the card (it shows up to three lines)
CHIP_LIMIT = 6  # buttons shown as chips; the rest are counted


def look(spec: NodeType | None) -> tuple[str, str]:
    """(colour, icon) of a node type: its category's colour, its own icon or its category's."""
    if spec is None:
        return OTHER
    color, icon = CATEGORIES.get(spec.category, OTHER)
    return color, spec.icon or icon


def exit_words(spec: NodeType | None, settings: Any, outputs: list[str]) -> dict[str, str]:
    """Each output port in words: the type's own, else the common ones, else the port's name."""
    own: Mapping[str, str] = {}
    if spec is not None and spec.exits is not None and settings is not None:
        own = spec.exits(settings)  # often the author's own words (an option's title): never translated
    return {p: own.get(p) or (_(PORT_WORDS[p]) if p in PORT_WORDS else p.replace("_", " ")) for p in outputs}


def _chips(settings: Any) -> list[str]:
    """The buttons a step shows (a message's buttons, a question's options without exits of their own)."""
    titles: list[str] = []
    for key in ("buttons", "options"):
        for item in getattr(settings, key, None) or []:
            title = getattr(item, "title", None)
            if isinstance(title, str) and title.strip():
                titles.append(title.strip())
    if len(titles) > CHIP_LIMIT:
        titles = [*titles[: CHIP_LIMIT - 1], _("+{count} more", count=len(titles) - CHIP_LIMIT + 1)]
    return titles


def _saves(settings: Any) -> str:
    for key in ("save_as", "variable"):
        value = getattr(settings, key, None)
        if isinstance(value, str) and value:
            return value
    return ""


def card_data(flow: Flow, node: Node, registry: Registry, inputs: list[str], outputs: list[str]) -> dict[str, Any]:
    """The card's data for the canvas (see the module's docstring)."""
    spec = registry.get(node.type)
    color, icon = look(spec)
    settings: Any = None
    text, broken = "", False
    if spec is None:
        title = _("{type} (not installed)", type=node.type)
    else:
        title = _(spec.title)
        try:
            settings = spec.parse(node.settings, node.version)
        except SettingsError:
            broken = True
        if settings is not None and spec.summary is not None:
            text = spec.summary(settings)
    labels = exit_words(spec, settings, outputs)
    chips = [] if settings is None else _chips(settings)
    if settings is not None and any(labels.get(p) in chips for p in outputs):
        chips = []  # the options are the exits: shown once, beside their exits
    return {
        "title": title,
        "color": color,
        "icon": icon,
        "text": text[:TEXT_LIMIT],
        "empty": _("Not set up yet: select it to fill it in") if broken or (spec and spec.summary and not text) else "",
        "chips": chips,
        "saves": "" if settings is None else _saves(settings),
        "inputs": inputs,
        "outputs": outputs,
        "labels": labels,
        "start": node.id == flow.start,
    }
