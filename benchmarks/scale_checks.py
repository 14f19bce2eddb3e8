"""What bench_scale checks once the load has drained: what the people saw (each message answered
once, in order) and what the tables hold (one turn per message, nothing left waiting or dead).
Each check that fails adds a sentence to `problems`."""

from __future__ import annotations

import itertools
import statistics
from dataclasses import dataclass
from typing import Any

from benchmarks.scale_load import Ledger, Message, reply_to

AROUND = 2.0  # a reply sent twice is allowed if a crash (or restart) came at most this long before its first copy


@dataclass
class Kill:
    """A worker killed: when, the messages then waiting for an answer, and the chats it held
    (None when its claims could not be read: SQLite, or a runtime that names them otherwise)."""

    at: float
    waiting: list[Message]
    held: set[int] | None = None
    ready_left: int = 0  # workers still ready to take over (the others were starting)


def takeover(kills: list[Kill]) -> dict[str, Any]:
    """Per kill: the longest time from the kill to the answer of a message waiting then. Under a
    backlog that is mostly the backlog's wait; `held_takeover` counts only the messages of the chats
    the killed worker held, which another worker had to take over; `ready_takeover` only those kills
    that left another worker ready (otherwise the wait includes a worker's start)."""
    every, held, ready = [], [], []
    for kill in kills:
        answered = [m.answered_at - kill.at for m in kill.waiting if m.answered_at is not None]
        if answered:
            every.append(max(answered))
        if kill.held:
            mine = [m.answered_at - kill.at for m in kill.waiting if m.chat in kill.held and m.answered_at]
            if mine:
                held.append(max(mine))
                if kill.ready_left:  # another worker was up: the takeover itself, not a restart's wait
                    ready.append(max(mine))
    return {
        "kills": len(kills),
        "takeover_max_s": max(every) if every else None,
        "takeover_median_s": statistics.median(every) if every else None,
        "held_takeover_max_s": max(held) if held else None,
        "held_takeover_median_s": statistics.median(held) if held else None,
        "ready_takeover_max_s": max(ready) if ready else None,
        "ready_takeover_median_s": statistics.median(ready) if ready else None,
        "held_chats_per_kill": statistics.mean(len(k.held or ()) for k in kills) if kills else None,
        "kills_leaving_none_ready": sum(k.ready_left == 0 for k in kills),
    }


def claimed_by(engine: Any, pid: int) -> set[int]:
    """The claim keys a worker process holds now: PostgreSQL advisory locks on the connection it
    names `chatloom worker <host>:<pid>:…` (runtime/channels/claims.py)."""
    from sqlalchemy import text

    if engine.dialect.name != "postgresql":
        return set()
    query = text(
        "SELECT (l.classid::bigint << 32) | l.objid::bigint FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND a.application_name LIKE :name"
    )
    with engine.connect() as c:
        return {int(k) for (k,) in c.execute(query, {"name": f"chatloom worker %:{pid}:%"})}


def posted_by_chat(ledger: Ledger) -> dict[int, list[Message]]:
    """The messages a webhook took, by chat, in the chat's order."""
    found: dict[int, list[Message]] = {}
    for m in sorted(ledger.posted(), key=lambda m: (m.chat, m.k)):
        found.setdefault(m.chat, []).append(m)
    return found


def replies(ledger: Ledger, disruptions: list[float], *, cut_short: bool = False) -> dict[str, Any]:
    """What the people saw: each chat's answers once each and in order; copies counted as `resent`
    (a problem unless a crash or restart came just before); latency from send to answer. A run cut
    short (out of time) expects only the answers up to each chat's first unanswered message."""
    problems: list[str] = []
    heard: dict[int, list[tuple[str, float]]] = {}
    for a in ledger.arrivals:
        heard.setdefault(a.chat, []).append((a.text, a.at))
    resent = unexplained = 0
    wrong: list[str] = []
    posted = posted_by_chat(ledger)
    for chat, sent in posted.items():
        kept = itertools.takewhile(lambda m: m.answered_at is not None, sent) if cut_short else sent
        expected = [reply_to(m.k) for m in kept]
        first_at: dict[str, float] = {}
        order = []
        for text, at in heard.get(chat, []):
            if text in first_at:
                resent += 1
                if not any(first_at[text] - AROUND <= d <= at for d in disruptions):
                    unexplained += 1
                continue
            first_at[text] = at
            order.append(text)
        if order != expected:
            missing = [t for t in expected if t not in first_at]
            extra = [t for t in order if t not in expected]
            wrong.append(f"chat {chat}: missing {missing[:3]}, unexpected {extra[:3]}, heard {order[:6]}")
    if wrong:
        problems.append(f"{len(wrong)} chats did not get each answer once and in order, e.g. {wrong[:3]}")
    if unexplained:
        problems.append(f"{unexplained} replies were sent twice with no crash or restart just before")
    strays = set(heard) - set(posted)
    if strays:
        problems.append(f"replies went to chats that sent nothing: {sorted(strays)[:5]}")
    latencies = sorted(
        (m.answered_at - m.sent_at) * 1000
        for m in ledger.messages.values()
        if m.answered_at is not None and m.sent_at is not None
    )
    cuts = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) >= 2 else [0.0] * 99
    hooks = sorted(ledger.hook_times)
    return {
        "sent": len(ledger.posted()),
        "answered": ledger.answered,
        "resent": resent,
        "hook_retries": ledger.hook_retries,
        "p50_ms": cuts[49],
        "p95_ms": cuts[94],
        "p99_ms": cuts[98],
        "max_ms": latencies[-1] if latencies else 0.0,
        "hook_p50_ms": hooks[len(hooks) // 2] * 1000 if hooks else 0.0,
        "hook_p99_ms": hooks[int(len(hooks) * 0.99)] * 1000 if hooks else 0.0,
        "problems": problems + ledger.refused[:5],
    }


def tables(engine: Any, account: str, ledger: Ledger, *, cut_short: bool = False) -> dict[str, Any]:
    """What the tables say: one turn per message (a chat's first starts the conversation), no
    event unhandled or failed, the outbox empty.
    In a run cut short, only the answered messages must have their turn, and work may wait."""
    from sqlalchemy import text

    with engine.connect() as c:
        turns = c.execute(
            text(
                "SELECT event_id, COUNT(*) FROM turns WHERE event_id IS NOT NULL AND channel = 'telegram' "
                "AND account = :a GROUP BY event_id"
            ),
            {"a": account},
        ).all()
        inbox = {
            str(s): int(n) for s, n in c.execute(text("SELECT status, COUNT(*) FROM channel_inbox GROUP BY status"))
        }
        outbox = {
            str(s): int(n) for s, n in c.execute(text("SELECT status, COUNT(*) FROM channel_outbox GROUP BY status"))
        }
    problems = []
    posted = ledger.posted()
    allowed = {str(m.update_id) for m in posted}
    required = {str(m.update_id) for m in posted if m.answered_at is not None or not cut_short}
    counted = {str(event): int(n) for event, n in turns}
    twice = [e for e, n in counted.items() if n > 1]
    if twice:
        problems.append(f"{len(twice)} events made more than one turn, e.g. {twice[:5]}")
    if set(counted) - allowed:
        extra = sorted(set(counted) - allowed)
        problems.append(f"{len(extra)} turns answer events that were never sent, e.g. {extra[:5]}")
    if required - set(counted):
        problems.append(f"{len(required - set(counted))} messages made no turn")
    if inbox.get("new") and not cut_short:
        problems.append(f"{inbox['new']} inbox events were never handled")
    if inbox.get("failed"):
        problems.append(f"{inbox['failed']} inbox events failed")
    if (sum(outbox.values()) and not cut_short) or outbox.get("dead"):
        problems.append(f"the outbox is not empty: {outbox}")
    return {
        "event_turns": sum(counted.values()),
        "inbox": inbox,
        "outbox": outbox,
        "db_sessions": sessions(engine),
        "problems": problems,
    }


def sessions(engine: Any) -> int | None:
    """Connections PostgreSQL (14 and later) has accepted to this database since it was made (a
    worker that opens and closes connections all the time pays a backend's start-up each time)."""
    from sqlalchemy import text

    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as c:
        found = c.execute(text("SELECT sessions FROM pg_stat_database WHERE datname = current_database()"))
        return int(found.scalar_one())


def waiting_rows(engine: Any) -> int:
    """Events not handled yet and messages not sent yet."""
    from sqlalchemy import text

    with engine.connect() as c:
        new = c.execute(text("SELECT COUNT(*) FROM channel_inbox WHERE status = 'new'")).scalar_one()
        pending = c.execute(text("SELECT COUNT(*) FROM channel_outbox WHERE status = 'pending'")).scalar_one()
    return int(new) + int(pending)
