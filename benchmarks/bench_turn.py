"""A full turn with its state saved, against a bare upsert of the same state row, in one run."""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from flows.db import make_engine
from flows.document import flow_from_data
from nodes.api import Inbound
from nodes.registry import Registry
from runtime.engine import Runtime

TURNS = 400
BLOCKS = 8


async def _turns(rt: Runtime, cid: str, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        await rt.send(cid, Inbound(f"answer {i}", event_id=f"ev-{i}"))


def main() -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="chatloom-bench-"))
    engine = make_engine(f"sqlite:///{folder / 'bench.db'}")
    rt = Runtime(engine, Registry.from_entry_points())
    # a question and an answer, round and round: each turn answers the question and asks it again
    doc = {
        "id": "loop",
        "name": "Loop",
        "start": "s",
        "nodes": [
            {"id": "s", "type": "flow.start"},
            {"id": "q", "type": "input.text", "settings": {"prompt": "Say something", "save_as": "said"}},
            {"id": "r", "type": "message.send", "settings": {"text": "You said {{ said }}"}},
        ],
        "edges": [
            {"id": "a", "source": "s", "target": "q"},
            {"id": "b", "source": "q", "source_port": "valid", "target": "r"},
            {"id": "c", "source": "r", "target": "q"},
        ],
    }
    rt.flows.save_draft(flow_from_data(doc))
    rt.flows.publish("loop", rt.registry)

    upsert = text(
        "INSERT INTO conversations (id, flow_id, version, channel, account, user_id, status, seq, data, "
        "created_at, updated_at) VALUES (:id, 'loop', 1, 'api', 'default', '', 'waiting', :seq, :data, :t, :t) "
        "ON CONFLICT (id) DO UPDATE SET data = excluded.data, seq = excluded.seq, updated_at = excluded.updated_at"
    )

    def upserts(data: str, n: int) -> float:
        began = time.perf_counter()
        for i in range(n):
            with engine.begin() as conn:
                conn.execute(upsert, {"id": "bare", "seq": i, "data": data, "t": time.time()})
        return n / (time.perf_counter() - began)

    async def go() -> tuple[float, float]:
        cid, _ = await rt.start("loop", user_id="bench")
        await _turns(rt, cid, 200, start=10_000_000)  # warm up
        state = rt.store.load(cid)
        assert state is not None
        data = json.dumps(state.data())  # the same state row, as the turn saves it
        upserts(data, 200)
        best_turns = best_upserts = 0.0
        for block in range(BLOCKS):  # interleaved, best of each: this machine's speed wanders
            began = time.perf_counter()
            await _turns(rt, cid, TURNS, start=block * TURNS)
            best_turns = max(best_turns, TURNS / (time.perf_counter() - began))
            best_upserts = max(best_upserts, upserts(data, TURNS))
        return best_turns, best_upserts

    turn_rate, bare_rate = asyncio.run(go())
    engine.dispose()
    return {"turns_per_s": turn_rate, "upserts_per_s": bare_rate, "ratio": turn_rate / bare_rate}


if __name__ == "__main__":
    print(main())
