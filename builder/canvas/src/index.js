// Everything the canvas component imports, in one bundle so the add-ons share one Vue Flow core.
import "@vue-flow/core/dist/style.css";
import "@vue-flow/core/dist/theme-default.css";
import "@vue-flow/controls/dist/style.css";

export { VueFlow, Handle, Position, MarkerType, BaseEdge, useVueFlow } from "@vue-flow/core";
export { toRaw } from "vue";
export { route, pathOf } from "./routing.js";
export { Controls } from "@vue-flow/controls";
export { Background } from "@vue-flow/background";
