"""A large flow in Chromium: only the cards in and around the view are drawn, yet no line stops at the
edge of the view, the minimap and "show the whole flow" know every step, panning brings the far
steps in, Ctrl+A selects all of them; and lines go around cards instead of through them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.bench_canvas import flow_document
from tests.browser.helpers import node as _node

SIZE = 400  # above the editor's VISIBLE_ONLY_FROM: drawn by view

# The cards in the page, those of them a person sees (in the pane), and the edges drawn
DRAWN = """() => {
  const pane = document.querySelector('.vue-flow__pane').getBoundingClientRect();
  const all = [...document.querySelectorAll('.vue-flow__node')];
  const seen = all.filter((n) => {
    const r = n.getBoundingClientRect();
    return r.right > pane.left && r.left < pane.right && r.bottom > pane.top && r.top < pane.bottom;
  });
  const edges = [...document.querySelectorAll('.vue-flow__edge')].map((e) => e.dataset.id);
  return { cards: all.map((n) => n.dataset.id), seen: seen.map((n) => n.dataset.id), edges };
}"""


def _import(tmp_path: Path, document: dict[str, Any], name: str) -> None:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({**document, "id": name, "name": name}))
    env = {**os.environ, "CHATLOOM_DATA": str(tmp_path / "data")}
    env.pop("DATABASE_URL", None)
    subprocess.run([sys.executable, "-m", "chatloom", "import", str(path)], env=env, check=True, capture_output=True)


def test_a_large_flow_draws_what_is_in_view_and_loses_no_line(server: str, page: Any, tmp_path: Path) -> None:
    document = flow_document(SIZE)
    # a loop from the last step back to the start, across the whole flow: its line must still be drawn
    # wherever the view is, with both its cards
    last = document["nodes"][-2]["id"]
    document["edges"].append({"id": "back", "source": last, "source_port": "out", "target": "step0001"})
    document["edges"] = [e for e in document["edges"] if not (e["source"] == last and e["id"] != "back")]
    document["nodes"][-2].update(type="message.send", settings={"text": "once more"})
    _import(tmp_path, document, "big")
    page.goto(f"{server}/flows/big")
    page.wait_for_selector(_node("start"))
    page.wait_for_timeout(500)

    drawn = page.evaluate(DRAWN)
    assert 5 < len(drawn["cards"]) < SIZE / 4  # a few screens' worth, not 400 cards
    # every line from a card in view is drawn, with the card at its other end, however far
    cards, seen = set(drawn["cards"]), set(drawn["seen"])
    assert seen
    touching = {e["id"] for e in document["edges"] if e["source"] in seen or e["target"] in seen}
    assert touching <= set(drawn["edges"])
    assert all(e["source"] in cards and e["target"] in cards for e in document["edges"] if e["id"] in touching)
    assert "back" in set(drawn["edges"])  # step0001 is in view: so is the loop and the last step
    assert last in cards

    # the minimap shows every step, and "show the whole flow" frames all of them
    page.wait_for_function("(n) => document.querySelector('.chatloom-map').dataset.nodes === String(n)", arg=SIZE)
    page.click(".vue-flow__controls-fitview")
    page.wait_for_timeout(600)
    pane = page.locator(".vue-flow__pane").bounding_box()
    for corner in ("start", document["nodes"][-1]["id"]):
        box = page.locator(_node(corner)).bounding_box()
        assert box is not None, f"{corner} is not drawn once the whole flow is shown"
        assert pane["x"] - 1 <= box["x"] and box["x"] + box["width"] <= pane["x"] + pane["width"] + 1
        assert pane["y"] - 1 <= box["y"] and box["y"] + box["height"] <= pane["y"] + pane["height"] + 1

    # a link to a step far from the start (as the problems list and the versions page give): the cards
    # there are drawn, and still only a few
    page.goto(f"{server}/flows/big?focus=step0350")
    page.wait_for_function(
        f"() => ({DRAWN})().seen.includes('step0350') && ({DRAWN})().cards.length < {SIZE // 4}", timeout=20_000
    )

    # a press on the start step's box in the minimap brings it back into view
    at = page.evaluate(
        """() => {
          const { scale, ox, oy } = getElement(document.querySelector('.chatloom-canvas').id.slice(1)).mapScale;
          const map = document.querySelector('.chatloom-map');
          const k = map.getBoundingClientRect().width / map.width;
          return { x: (120 * scale + ox) * k, y: (30 * scale + oy) * k };
        }"""
    )
    page.locator(".chatloom-map").click(position=at)
    page.wait_for_timeout(400)
    assert "start" in page.evaluate(DRAWN)["seen"]

    # Ctrl+A takes every step, drawn or not
    page.locator(".vue-flow__pane").click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+a")
    page.wait_for_function(
        "(n) => document.querySelector('.chatloom-map').dataset.selected === String(n)", arg=SIZE, timeout=10_000
    )


# Each drawn edge's path, the boxes of all drawn cards, and the ids of its two cards
LINES = """() => {
  const box = (el) => {
    const r = el.getBoundingClientRect();
    return { x: r.x, y: r.y, width: r.width, height: r.height, id: el.dataset.id };
  };
  const cards = [...document.querySelectorAll('.vue-flow__node')].map(box);
  const lines = [];
  for (const g of document.querySelectorAll('.vue-flow__edge')) {
    const path = g.querySelector('path.vue-flow__edge-path');
    const total = path.getTotalLength();
    const ctm = path.getScreenCTM();
    const points = [];
    for (let d = 0; d <= total; d += 4) {
      const p = path.getPointAtLength(d).matrixTransform(ctm);
      points.push([p.x, p.y]);
    }
    lines.push({ id: g.dataset.id, points });
  }
  return { cards, lines };
}"""


def test_lines_go_around_cards(server: str, page: Any, tmp_path: Path) -> None:
    # a message with a question right under it (a column, as a person stacks them), and a loop from
    # the question back up to the message: drawn as curves, both lines crossed both cards
    document = {
        "id": "stack",
        "name": "stack",
        "start": "start",
        "nodes": [
            {"id": "start", "type": "flow.start", "version": 1, "ui": {"x": 0, "y": 0}, "settings": {}},
            {"id": "hello", "type": "message.send", "version": 1, "ui": {"x": 320, "y": 0}, "settings": {"text": "Hi"}},
            {
                "id": "ask",
                "type": "input.text",
                "version": 1,
                "ui": {"x": 320, "y": 160},
                "settings": {"prompt": "Your name?", "save_as": "name"},
            },
        ],
        "edges": [
            {"id": "e1", "source": "start", "source_port": "out", "target": "hello"},
            {"id": "e2", "source": "hello", "source_port": "out", "target": "ask"},
            {"id": "e3", "source": "ask", "source_port": "invalid", "target": "hello"},
        ],
    }
    _import(tmp_path, document, "stack")
    page.goto(f"{server}/flows/stack")
    page.wait_for_selector(_node("ask"))
    page.wait_for_timeout(500)
    seen = page.evaluate(LINES)
    assert {line["id"] for line in seen["lines"]} == {"e1", "e2", "e3"}
    for line in seen["lines"]:
        for card in seen["cards"]:
            inside = [
                (x, y)
                for x, y in line["points"]
                if card["x"] + 3 < x < card["x"] + card["width"] - 3
                and card["y"] + 3 < y < card["y"] + card["height"] - 3
            ]
            assert not inside, f"the line {line['id']} goes through the card {card['id']} at {inside[:3]}"
