"""What changed between two versions of a flow, in terms a flow's author recognises."""

from __future__ import annotations

from dataclasses import dataclass

from flows.models import Edge, Flow


@dataclass(frozen=True, slots=True)
class FlowDiff:
    """Node ids added, removed and changed (type or settings), and connections added and removed."""

    added: list[str]
    removed: list[str]
    changed: list[str]
    connected: int
    disconnected: int
    renamed: bool
    notes_changed: bool = False  # a sticky note added, removed or rewritten (moving one is not a change)

    @property
    def empty(self) -> bool:
        return not (
            self.added
            or self.removed
            or self.changed
            or self.connected
            or self.disconnected
            or self.renamed
            or self.notes_changed
        )

    def sentence(self) -> str:
        """One line, such as "2 nodes added (n4, n5), 1 changed (ask); 1 connection added"."""
        if self.empty:
            return "No changes (only positions on the canvas, if anything)."
        parts = []
        for count, what in ((self.added, "added"), (self.removed, "removed"), (self.changed, "changed")):
            if count:
                parts.append(f"{len(count)} node{'s' if len(count) != 1 else ''} {what} ({', '.join(count)})")
        for n, what in ((self.connected, "added"), (self.disconnected, "removed")):
            if n:
                parts.append(f"{n} connection{'s' if n != 1 else ''} {what}")
        if self.renamed:
            parts.append("renamed")
        if self.notes_changed:
            parts.append("notes edited")
        return "; ".join(parts) + "."


def diff(old: Flow, new: Flow) -> FlowDiff:
    """Compare two flows; canvas positions are not changes."""
    before = {n.id: n for n in old.nodes}
    after = {n.id: n for n in new.nodes}

    def key(e: Edge) -> tuple[str, str, str, str]:
        return (e.source, e.source_port, e.target, e.target_port)

    old_edges = {key(e) for e in old.edges}
    new_edges = {key(e) for e in new.edges}
    changed = [
        i
        for i in after
        if i in before
        and (after[i].type, after[i].version, after[i].settings)
        != (before[i].type, before[i].version, before[i].settings)
    ]
    return FlowDiff(
        added=[i for i in after if i not in before],
        removed=[i for i in before if i not in after],
        changed=changed,
        connected=len(new_edges - old_edges),
        disconnected=len(old_edges - new_edges),
        renamed=old.name != new.name,
        notes_changed={(n.id, n.text) for n in old.notes} != {(n.id, n.text) for n in new.notes},
    )
