"""Undo and redo for one editor: the drafts before each edit, newest last.

A flow is immutable and an edit copies only the lists it changes, so a snapshot costs one list
of references; a hundred of them are cheap even for a 1,000-node flow.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from flows.models import Flow

LIMIT = 100  # edits that can be undone
COALESCE_S = 1.5  # keystrokes in one field within this long are one edit


@dataclass(frozen=True, slots=True)
class Entry:
    flow: Flow  # the draft before (in the undo list) or after (in the redo list) the edit
    label: str  # what the edit did, for the buttons' tooltips: "add a node", "move 3 nodes"
    # the draft the edit (or the undo) left: when the draft is something else by the time this entry is
    # used, someone else changed it meanwhile, and only this person's change is taken back (builder/merge.py)
    after: Flow | None = None


class History:
    """The undo and redo lists of one editor tab."""

    def __init__(self, limit: int = LIMIT, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.clock = limit, clock
        self.undos: list[Entry] = []
        self.redos: list[Entry] = []
        self._last_key: str | None = None
        self._last_at = 0.0

    def record(self, before: Flow, label: str, key: str | None = None) -> None:
        """Remember the draft before an edit. Edits with the same `key` in quick succession (typing
        in one settings field) are one step: only the draft before the first is kept."""
        now = self.clock()
        same = key is not None and key == self._last_key and now - self._last_at < COALESCE_S and self.undos
        self._last_key, self._last_at = key, now
        self.redos.clear()
        if same:
            return
        self.undos.append(Entry(before, label))
        del self.undos[: -self.limit]

    def settle(self, after: Flow, redo: bool = False) -> None:
        """The draft the newest edit (or, with `redo`, the newest undo) left behind."""
        entries = self.redos if redo else self.undos
        if entries:
            entries[-1] = replace(entries[-1], after=after)

    def undo(self, current: Flow) -> Entry | None:
        """The draft before the last edit (None when there is nothing to undo); `current` can be redone."""
        return self._step(self.undos, self.redos, current)

    def redo(self, current: Flow) -> Entry | None:
        """The draft the last undo went back from (None when there is nothing to redo)."""
        return self._step(self.redos, self.undos, current)

    def _step(self, take: list[Entry], give: list[Entry], current: Flow) -> Entry | None:
        if not take:
            return None
        entry = take.pop()
        give.append(Entry(current, entry.label))
        self._last_key = None  # typing after an undo is a new step
        return entry
