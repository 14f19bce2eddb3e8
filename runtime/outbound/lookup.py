"""Name lookups on threads of their own.

The system's resolver (getaddrinfo) blocks, so it runs on a thread. asyncio's own lookup uses the
loop's shared default pool, which `asyncio.to_thread` and many libraries use too, and a timeout
stops the waiting, not the thread: names whose DNS never answers (a flow can ask for any number)
would hold every thread of that pool until the system resolver gives up, and everything queued
behind them would wait. The guard's lookups get a small pool of their own instead, so at worst they
wait for one another; a lookup whose request has given up is dropped before it starts.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

LOOKUP_THREADS = 8
Lookup = Callable[[str], Sequence[str]]  # blocking: name → addresses, OSError when not found


def system_lookup(name: str) -> list[str]:
    """The addresses the system's resolver gives for a name, in its order of preference."""
    infos = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class ThreadedResolver:
    """A resolver for the guard (name → addresses) that runs a blocking lookup on at most `threads`
    threads of its own."""

    def __init__(self, lookup: Lookup = system_lookup, threads: int = LOOKUP_THREADS) -> None:
        self.lookup = lookup
        self._threads = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="chatloom-lookup")

    async def __call__(self, name: str) -> Sequence[str]:
        return await asyncio.get_running_loop().run_in_executor(self._threads, self.lookup, name)


resolve = ThreadedResolver()  # one pool for every guard in the process
