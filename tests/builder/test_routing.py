"""The canvas's line routing (builder/canvas/src/routing.js), run in Node: lines leave an exit to the
right, enter from the left, bend at right angles, and go around their own cards and the cards near
them whenever there is room."""

from __future__ import annotations

import itertools
import json
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROUTING = Path(__file__).resolve().parents[2] / "builder" / "canvas" / "src" / "routing.js"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is not installed (make needs it for the canvas)")

# Reads cases as JSON on stdin; for each, the route, how many cards it crosses and its SVG path
RUN = f"""
import {{ route, crossings, pathOf }} from {json.dumps(ROUTING.as_uri())};
let input = "";
process.stdin.on("data", (d) => (input += d));
process.stdin.on("end", () => {{
  const out = JSON.parse(input).map(({{ s, t, from, to, others }}) => {{
    const points = route(s, t, from, to, others);
    return {{ points, crossed: crossings(points, [from, to, ...others]), path: pathOf(points).d }};
  }});
  process.stdout.write(JSON.stringify(out));
}});
"""

W = 240


def _routes(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    done = subprocess.run(
        [str(NODE), "--input-type=module", "-e", RUN],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


def _card(x: float, y: float, height: float = 100) -> dict[str, float]:
    return {"x": x, "y": y, "width": W, "height": height}


def _case(a: dict[str, float], b: dict[str, float], others: list[dict[str, float]] | None = None) -> dict[str, Any]:
    """From the exit on a's right side (level with its title) to the entry on b's left side."""
    return {
        "s": {"x": a["x"] + a["width"] + 6, "y": a["y"] + 22},
        "t": {"x": b["x"] - 6, "y": b["y"] + 22},
        "from": a,
        "to": b,
        "others": others or [],
    }


def _well_formed(case: dict[str, Any], got: dict[str, Any]) -> None:
    points = got["points"]
    assert points[0] == case["s"] and points[-1] == case["t"]
    for a, b in itertools.pairwise(points):
        assert a["x"] == b["x"] or a["y"] == b["y"], f"a slanted run {a} → {b}"
    if len(points) > 2:
        assert points[1]["x"] > case["s"]["x"], "the line does not leave the exit to the right"
        assert points[-2]["x"] < case["t"]["x"], "the line does not enter from the left"
    assert got["path"].startswith("M ")


def test_a_step_right_of_the_other_is_joined_by_a_straight_or_stepped_line() -> None:
    level = _case(_card(0, 0), _card(400, 0))
    lower = _case(_card(0, 0), _card(400, 200))
    got = _routes([level, lower])
    assert len(got[0]["points"]) == 2 and got[0]["crossed"] == 0  # a straight line
    assert len(got[1]["points"]) == 4 and got[1]["crossed"] == 0  # out, down, in
    _well_formed(level, got[0])
    _well_formed(lower, got[1])


def test_steps_side_by_side_close_together_are_joined_straight_across() -> None:
    # 60 apart, the exit and the entry a pixel out of line (cards measured to the pixel): no detour
    close = _case(_card(0, 311, height=72), _card(300, 311, height=150))
    close["t"]["y"] += 1
    got = _routes([close])[0]
    _well_formed(close, got)
    ys = [p["y"] for p in got["points"]]
    assert min(ys) >= close["s"]["y"] and max(ys) <= close["t"]["y"]  # no run above or below them
    assert got["crossed"] == 0


def test_a_step_under_the_other_is_joined_through_the_gap_between_them() -> None:
    # the shape that drew an S through both cards: a column of steps 40 apart
    column = _case(_card(0, 0), _card(0, 140))
    got = _routes([column])[0]
    _well_formed(column, got)
    assert got["crossed"] == 0
    lane = [p["y"] for p in got["points"][1:-1]]
    assert any(100 < y < 140 for y in lane)  # between the two cards, not around the whole column


def test_a_loop_back_goes_around_both_cards() -> None:
    back = _case(_card(600, 300), _card(0, 0))  # from a later step back up to the first
    under = _case(_card(0, 0), _card(100, 160))  # to a step just below, its entry under the first card
    got = _routes([back, under])
    for case, route in zip([back, under], got, strict=True):
        _well_formed(case, route)
        assert route["crossed"] == 0


def test_a_card_in_the_way_is_gone_around_when_there_is_room() -> None:
    wall = _card(300, -40, height=120)  # between the two, on the straight line
    got = _routes([_case(_card(0, 0), _card(600, 0), [wall])])[0]
    assert got["crossed"] == 0
    assert len(got["points"]) > 2


def test_random_layouts_never_cross_their_own_cards() -> None:
    rng = random.Random(15)
    cases = []
    while len(cases) < 300:
        a = _card(rng.randrange(-800, 800, 20), rng.randrange(-600, 600, 20), rng.randrange(44, 260))
        b = _card(rng.randrange(-800, 800, 20), rng.randrange(-600, 600, 20), rng.randrange(44, 260))
        apart = (
            a["x"] + W + 40 <= b["x"]
            or b["x"] + W + 40 <= a["x"]
            or a["y"] + a["height"] + 40 <= b["y"]
            or b["y"] + b["height"] + 40 <= a["y"]
        )
        if apart:  # cards laid out with room between them, as the canvas keeps them
            cases.append(_case(a, b))
    for case, got in zip(cases, _routes(cases), strict=True):
        _well_formed(case, got)
        assert got["crossed"] == 0, (case, got["points"])
