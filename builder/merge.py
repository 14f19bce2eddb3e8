"""Three-way merge of flow drafts, element by element: the ground for two people editing one flow.

`rebase(base, mine, theirs)` applies the change that turned `base` into `mine` on top of `theirs`
(the draft as it is saved now, with what others changed since `base`). Steps, connections and notes
are matched by id, variables by name; a step's settings and canvas place key by key, so two people
changing different fields of one step both keep their change. Where both changed the same thing,
`prefer` decides: "mine" for an edit (the later one wins) and "theirs" for an undo (undoing my
edit never throws away what someone did after it). Each such clash is named in words.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar

from builder.i18n import N_, _
from flows.models import Flow

Prefer = Literal["mine", "theirs"]
FIELDS = {"name": N_("name"), "description": N_("description"), "start": N_("start")}  # the flow's own, in words
T = TypeVar("T")
_MISSING: Any = object()


def _pick(base: Any, mine: Any, theirs: Any, prefer: Prefer) -> tuple[Any, bool]:
    """The merged value, and whether both sides changed it differently."""
    if mine == base:
        return theirs, False
    if theirs in (base, mine):
        return mine, False
    return (mine if prefer == "mine" else theirs), True


def _order(base: Any, mine: Any, theirs: Any) -> list[Any]:
    """Keys in the order they are now, then the ones only I added, then the ones only in the base."""
    return [*theirs, *(k for k in mine if k not in theirs), *(k for k in base if k not in theirs and k not in mine)]


def merge_fields(
    base: dict[str, Any], mine: dict[str, Any], theirs: dict[str, Any], prefer: Prefer
) -> tuple[dict[str, Any], list[str]]:
    merged: dict[str, Any] = {}
    clashes: list[str] = []
    for key in _order(base, mine, theirs):
        value, clash = _pick(base.get(key, _MISSING), mine.get(key, _MISSING), theirs.get(key, _MISSING), prefer)
        if clash:
            clashes.append(key)
        if value is not _MISSING:
            merged[key] = value
    return merged, clashes


def _merge_items(
    base: Sequence[T],
    mine: Sequence[T],
    theirs: Sequence[T],
    *,
    key: Callable[[T], str],
    prefer: Prefer,
    merge_one: Callable[[T, T, T, Prefer], tuple[T, list[str]]] | None,
    what: Callable[[str], str],
) -> tuple[list[T], list[str]]:
    b = {key(i): i for i in base}
    m = {key(i): i for i in mine}
    t = {key(i): i for i in theirs}
    out: list[T] = []
    clashes: list[str] = []
    for ident in _order(b, m, t):
        bi, mi, ti = b.get(ident, _MISSING), m.get(ident, _MISSING), t.get(ident, _MISSING)
        if mi == bi:
            chosen = ti
        elif ti in (bi, mi):
            chosen = mi
        elif merge_one is not None and _MISSING not in (bi, mi, ti):
            chosen, fields = merge_one(bi, mi, ti, prefer)
            clashes += [f"{what(ident)} ({f})" for f in fields]
        else:  # added twice, or changed by one and deleted by the other
            chosen = mi if prefer == "mine" else ti
            clashes.append(what(ident))
        if chosen is not _MISSING:
            out.append(chosen)
    return out, clashes


def _merge_node(base: Any, mine: Any, theirs: Any, prefer: Prefer) -> tuple[Any, list[str]]:
    settings, clashes = merge_fields(base.settings, mine.settings, theirs.settings, prefer)
    ui, _ = merge_fields(base.ui, mine.ui, theirs.ui, prefer)  # a place on the canvas is not worth a notice
    kind, clash = _pick(base.type, mine.type, theirs.type, prefer)
    version, _ = _pick(base.version, mine.version, theirs.version, prefer)
    return theirs.model_copy(update={"settings": settings, "ui": ui, "type": kind, "version": version}), clashes + (
        ["type"] if clash else []
    )


def _merge_note(base: Any, mine: Any, theirs: Any, prefer: Prefer) -> tuple[Any, list[str]]:
    text, clash = _pick(base.text, mine.text, theirs.text, prefer)
    ui, _ = merge_fields(base.ui, mine.ui, theirs.ui, prefer)
    return theirs.model_copy(update={"text": text, "ui": ui}), ["text"] if clash else []


def rebase(base: Flow, mine: Flow, theirs: Flow, prefer: Prefer = "mine") -> tuple[Flow, list[str]]:
    """`theirs` with the change from `base` to `mine` applied; and what both changed, in words."""
    clashes: list[str] = []
    top: dict[str, Any] = {}
    for field, words in FIELDS.items():
        value, clash = _pick(getattr(base, field), getattr(mine, field), getattr(theirs, field), prefer)
        top[field] = value
        if clash:
            clashes.append(_("the flow's {field}", field=_(words)))
    nodes, found = _merge_items(base.nodes, mine.nodes, theirs.nodes, key=lambda n: n.id, prefer=prefer,
                                merge_one=_merge_node, what=lambda i: _("step {id}", id=i))  # fmt: skip
    clashes += found
    notes, found = _merge_items(base.notes, mine.notes, theirs.notes, key=lambda n: n.id, prefer=prefer,
                                merge_one=_merge_note, what=lambda i: _("note {id}", id=i))  # fmt: skip
    clashes += found
    variables, found = _merge_items(base.variables, mine.variables, theirs.variables, key=lambda v: v.name,
                                    prefer=prefer, merge_one=None, what=lambda i: _("variable {id}", id=i))  # fmt: skip
    clashes += found
    edges, found = _merge_items(base.edges, mine.edges, theirs.edges, key=lambda e: e.id, prefer=prefer,
                                merge_one=None, what=lambda i: _("connection {id}", id=i))  # fmt: skip
    clashes += found
    alive = {n.id for n in nodes}
    edges = [e for e in edges if e.source in alive and e.target in alive]  # a step deleted meanwhile takes its lines
    added_by_me = {e.id for e in mine.edges} - {e.id for e in base.edges}
    by_exit: dict[tuple[str, str], Any] = {}
    for e in edges:  # one exit leads one way: joined twice at once, the preferred side's line stays
        exit_ = (e.source, e.source_port)
        if exit_ not in by_exit:
            by_exit[exit_] = e
        elif (prefer == "mine") == (e.id in added_by_me):
            by_exit[exit_] = e
            clashes.append(_("step {id} ({exit})", id=e.source, exit=e.source_port))
        else:
            clashes.append(_("step {id} ({exit})", id=e.source, exit=e.source_port))
    keep = list(by_exit.values())
    merged = theirs.model_copy(update={**top, "nodes": nodes, "notes": notes, "variables": variables, "edges": keep})
    return merged, clashes
