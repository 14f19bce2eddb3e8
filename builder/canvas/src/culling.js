// What a large flow's canvas draws: the steps in and around the view, and the steps joined to them.
//
// Vue Flow's own `onlyRenderVisibleElements` works out anew, on every frame of a pan, which of all
// the nodes and edges are in view, reading each through Vue's reactive proxies: at 1,000 nodes that
// alone took most of a frame, and a node not measured yet counted as visible, so a large flow first
// drew all its cards at once. vite.config.js puts these getters in its place (a build-time patch of
// @vue-flow/core, refused by the build if the code it replaces changes). Here:
// - the area drawn is the view and half a view around it, worked out again only once the view has
//   moved out of it (or zoomed in far), not on every frame;
// - a node not drawn yet counts at its estimated size (the canvas gives it one);
// - the other end of an edge from a drawn node is drawn too, so no line stops at the view's edge;
// - nodes and edges are read raw: the list is redone when nodes are added or removed, or the area
//   changes; a node moved by hand is in view anyway.
import { computed, shallowRef, toRaw, watch } from "vue";

const MARGIN = 0.5; // of the view's width and height, drawn beyond each side
const SIZE = { width: 240, height: 160 }; // a node's size when it has none

function around(viewport, box, margin) {
  const width = box.width / viewport.zoom;
  const height = box.height / viewport.zoom;
  const x = -viewport.x / viewport.zoom;
  const y = -viewport.y / viewport.zoom;
  return {
    x: x - width * margin,
    y: y - height * margin,
    x2: x + width * (1 + margin),
    y2: y + height * (1 + margin),
  };
}

export function culledGetters(state) {
  const area = shallowRef(null);
  watch(
    () => [state.viewport.x, state.viewport.y, state.viewport.zoom, state.dimensions.width, state.dimensions.height],
    () => {
      if (!state.onlyRenderVisibleElements || !state.dimensions.width) return;
      const seen = around(state.viewport, state.dimensions, 0);
      const now = area.value;
      const outside = !now || seen.x < now.x || seen.y < now.y || seen.x2 > now.x2 || seen.y2 > now.y2;
      const tooBig = now && now.x2 - now.x > 4 * (seen.x2 - seen.x); // zoomed far in since
      if (outside || tooBig) area.value = around(state.viewport, state.dimensions, MARGIN);
    },
    { immediate: true },
  );

  const drawn = computed(() => {
    const nodes = state.nodes; // tracked: the list and its length
    const edges = state.edges;
    if (!state.onlyRenderVisibleElements) return null;
    const a = area.value;
    if (!a || !nodes.length) return { nodes: [], ids: new Set() };
    const rawNodes = toRaw(nodes);
    const ids = new Set();
    for (const n of rawNodes) {
      if (n.hidden) continue;
      const p = n.computedPosition || n.position;
      const width = (n.dimensions && n.dimensions.width) || SIZE.width;
      const height = (n.dimensions && n.dimensions.height) || SIZE.height;
      if (n.dragging || (p.x + width >= a.x && p.x <= a.x2 && p.y + height >= a.y && p.y <= a.y2)) ids.add(n.id);
    }
    const inArea = new Set(ids);
    for (const e of toRaw(edges)) {
      if (inArea.has(e.source)) ids.add(e.target);
      else if (inArea.has(e.target)) ids.add(e.source);
    }
    const shown = [];
    for (let i = 0; i < rawNodes.length; i++) if (ids.has(rawNodes[i].id) && !rawNodes[i].hidden) shown.push(nodes[i]);
    return { nodes: shown, ids };
  });

  const getNodes = computed(() => {
    const d = drawn.value;
    return d ? d.nodes : state.nodes;
  });
  const getEdges = computed(() => {
    const d = drawn.value;
    if (!d) return state.edges;
    const edges = state.edges;
    const raw = toRaw(edges);
    const shown = [];
    for (let i = 0; i < raw.length; i++) if (d.ids.has(raw[i].source) && d.ids.has(raw[i].target)) shown.push(edges[i]);
    return shown;
  });
  return { getNodes, getEdges };
}
