"""A real installed distribution for plugin tests: a module and its entry points on sys.path."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def installed_distribution(
    folder: Path, name: str, *, module: str, source: str, group: str, entries: str
) -> Iterator[None]:
    """The distribution `name` (version 1.0) installed in `folder`: the module `module` holding
    `source`, and `entries` (lines `key = module:object`) in the entry-point group `group`; gone
    from sys.path and sys.modules afterwards."""
    (folder / f"{module}.py").write_text(source)
    dist = folder / f"{module}-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[{group}]\n{textwrap.dedent(entries).strip()}\n")
    sys.path.insert(0, str(folder))
    try:
        yield
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop(module, None)
