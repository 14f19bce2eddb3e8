// Lines between steps that go around cards instead of through them.
//
// An exit is on a card's right side and an entry on the left, so a line to a step below or to the
// left (a question under its message, a loop back) drawn as one curve crosses both cards. Here a
// line is made of straight runs with rounded bends: it leaves the exit to the right, runs in the
// space between cards (or around them) and enters from the left. A few such routes are tried and
// the shortest that crosses no card near it wins; one that must cross is allowed, as few as can be.
// Plain functions of numbers: tests/builder/test_routing.py runs them in Node.

const GAP = 22; // how far a line runs out of an exit, into an entry, and clear of a card's edge
const RADIUS = 10; // of the rounded bends
const LANE = 16; // the least room between two cards for a line to run through
const CROSSING = 10_000; // what crossing one card costs, against a pixel of length
const BEND = 24; // what one bend costs

// Does the axis-aligned run from a to b go through the box (shrunk by a pixel, so touching is not)?
function crosses(a, b, box) {
  const x1 = Math.min(a.x, b.x), x2 = Math.max(a.x, b.x);
  const y1 = Math.min(a.y, b.y), y2 = Math.max(a.y, b.y);
  return x2 > box.x + 1 && x1 < box.x + box.width - 1 && y2 > box.y + 1 && y1 < box.y + box.height - 1;
}

function cost(points, boxes) {
  let length = 0, hits = 0;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1], b = points[i];
    length += Math.abs(a.x - b.x) + Math.abs(a.y - b.y);
    for (const box of boxes) if (crosses(a, b, box)) hits++;
  }
  return hits * CROSSING + length + (points.length - 2) * BEND;
}

// Drops points that add nothing (repeated, or in line with both neighbours)
function simplify(points) {
  const out = [];
  for (const p of points) {
    const last = out[out.length - 1];
    if (last && last.x === p.x && last.y === p.y) continue;
    const before = out[out.length - 2];
    if (before && last && ((before.x === last.x && last.x === p.x) || (before.y === last.y && last.y === p.y))) out.pop();
    out.push(p);
  }
  return out;
}

// The candidate routes from exit s to entry t, given the two cards' boxes and the cards near them
function candidates(s, t, from, to, others) {
  const out = [];
  const right = s.x + GAP; // the run out of the exit
  const left = t.x - GAP; // the run into the entry
  if (t.x > s.x + 4) {
    // the entry is to the right: one vertical run somewhere between them (halfway when the cards
    // are too close for the usual runs out and in)
    const xs = new Set([Math.round((s.x + t.x) / 2)]);
    if (left >= right) {
      xs.add(right);
      xs.add(left);
      for (const o of others) {
        if (o.x - GAP > right && o.x - GAP < left) xs.add(o.x - GAP);
        if (o.x + o.width + GAP > right && o.x + o.width + GAP < left) xs.add(o.x + o.width + GAP);
      }
    }
    for (const x of xs) out.push([s, { x, y: s.y }, { x, y: t.y }, t]);
  }
  // around: out to the right, along a horizontal lane, down or up to the entry's height, in from the left
  const all = [from, to, ...others];
  const lanes = new Set();
  const top = Math.min(from.y, to.y), bottom = Math.max(from.y + from.height, to.y + to.height);
  // between the two cards, when there is room (a column of steps is laid out with 40 between them)
  if (from.y + from.height + LANE <= to.y) lanes.add(Math.round((from.y + from.height + to.y) / 2));
  if (to.y + to.height + LANE <= from.y) lanes.add(Math.round((to.y + to.height + from.y) / 2));
  lanes.add(top - GAP);
  lanes.add(bottom + GAP);
  const columnTop = Math.min(...all.map((b) => b.y)), columnBottom = Math.max(...all.map((b) => b.y + b.height));
  lanes.add(columnTop - GAP);
  lanes.add(columnBottom + GAP);
  for (const y of lanes) out.push([s, { x: right, y: s.y }, { x: right, y }, { x: left, y }, { x: left, y: t.y }, t]);
  return out;
}

/**
 * The route from an exit at s to an entry at t ({x, y} each, in flow units), as a list of points.
 * `from` and `to` are the two cards' boxes ({x, y, width, height}); `others` the boxes of the cards
 * near them, which the route keeps clear of when it can. The exit sits on its card's right edge and
 * the entry on the left one, so the first and last runs only touch their cards.
 */
export function route(s, t, from, to, others = []) {
  const boxes = [from, to, ...others];
  let best = [s, t], bestCost = Infinity;
  for (const c of candidates(s, t, from, to, others)) {
    const points = simplify(c);
    const value = cost(points, boxes);
    if (value < bestCost) {
      best = points;
      bestCost = value;
    }
  }
  return best;
}

/** How many cards the route goes through (what the tests check). */
export function crossings(points, boxes) {
  let hits = 0;
  for (let i = 1; i < points.length; i++) for (const box of boxes) if (crosses(points[i - 1], points[i], box)) hits++;
  return hits;
}

/** An SVG path through the points, each bend rounded, and the point halfway along it (for a label). */
export function pathOf(points) {
  let d = `M ${points[0].x},${points[0].y}`;
  for (let i = 1; i < points.length; i++) {
    const p = points[i];
    const next = points[i + 1];
    if (!next) {
      d += ` L ${p.x},${p.y}`;
      break;
    }
    const prev = points[i - 1];
    const r = Math.min(RADIUS, Math.hypot(p.x - prev.x, p.y - prev.y) / 2, Math.hypot(next.x - p.x, next.y - p.y) / 2);
    const a = { x: p.x - Math.sign(p.x - prev.x) * r, y: p.y - Math.sign(p.y - prev.y) * r };
    const b = { x: p.x + Math.sign(next.x - p.x) * r, y: p.y + Math.sign(next.y - p.y) * r };
    d += ` L ${a.x},${a.y} Q ${p.x},${p.y} ${b.x},${b.y}`;
  }
  let total = 0;
  for (let i = 1; i < points.length; i++) total += Math.hypot(points[i].x - points[i - 1].x, points[i].y - points[i - 1].y);
  let half = total / 2, mid = points[0];
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1], b = points[i];
    const len = Math.hypot(b.x - a.x, b.y - a.y);
    if (half <= len) {
      mid = { x: a.x + ((b.x - a.x) * half) / (len || 1), y: a.y + ((b.y - a.y) * half) / (len || 1) };
      break;
    }
    half -= len;
  }
  return { d, mid };
}
