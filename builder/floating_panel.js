// A panel floating over the page: dragged by any part marked data-drag-handle (or moved with the arrow
// keys on a part marked data-move-handle), resized from its corner, always whole inside the window.
// Where it was and how big are kept in localStorage under `storageKey`, per browser.
// A part marked data-follow stays scrolled to its end as lines are added (a chat log).
const MIN_WIDTH = 280;
const MIN_HEIGHT = 240;
const MARGIN = 8;

export default {
  template: `<div ref="box" style="position: fixed; resize: both; overflow: hidden; z-index: 40;"><slot></slot></div>`,
  props: {
    storageKey: String,
  },
  mounted() {
    this.place = this.restore();
    this.apply();
    this.onWindow = () => this.apply();
    window.addEventListener("resize", this.onWindow);
    this.$refs.box.addEventListener("pointerdown", this.onPointerDown);
    this.$refs.box.addEventListener("keydown", this.onKeyDown);
    // the corner grip resizes the box: keep the new size (inside the window) for next time
    this.sizes = new ResizeObserver(() => {
      const box = this.$refs.box;
      if (!box || !box.offsetWidth) return; // hidden
      if (box.offsetWidth !== this.place.width || box.offsetHeight !== this.place.height) {
        this.place.width = box.offsetWidth;
        this.place.height = box.offsetHeight;
        this.apply();
        this.save();
      }
    });
    this.sizes.observe(this.$refs.box);
    this.follow = new MutationObserver(() => {
      for (const area of this.$refs.box.querySelectorAll("[data-follow]")) area.scrollTop = area.scrollHeight;
    });
    this.follow.observe(this.$refs.box, { childList: true, subtree: true });
  },
  unmounted() {
    window.removeEventListener("resize", this.onWindow);
    this.sizes.disconnect();
    this.follow.disconnect();
  },
  methods: {
    restore() {
      const width = Math.min(400, window.innerWidth - 2 * MARGIN);
      const height = Math.min(640, window.innerHeight - 120);
      const fallback = { left: window.innerWidth - width - 24, top: 96, width, height };
      try {
        const kept = JSON.parse(window.localStorage.getItem(this.storageKey) || "null");
        if (kept && ["left", "top", "width", "height"].every((k) => Number.isFinite(kept[k]))) return kept;
      } catch (e) {
        // nothing kept, or storage refused: the default place
      }
      return fallback;
    },
    save() {
      try {
        window.localStorage.setItem(this.storageKey, JSON.stringify(this.place));
      } catch (e) {
        // private browsing may refuse: the place is simply not remembered
      }
    },
    // the box whole inside the window, whatever its size or the window's
    apply() {
      const p = this.place;
      const maxWidth = Math.max(window.innerWidth - 2 * MARGIN, 160);
      const maxHeight = Math.max(window.innerHeight - 2 * MARGIN, 160);
      p.width = Math.min(Math.max(p.width, Math.min(MIN_WIDTH, maxWidth)), maxWidth);
      p.height = Math.min(Math.max(p.height, Math.min(MIN_HEIGHT, maxHeight)), maxHeight);
      p.left = Math.min(Math.max(p.left, MARGIN), window.innerWidth - p.width - MARGIN);
      p.top = Math.min(Math.max(p.top, MARGIN), window.innerHeight - p.height - MARGIN);
      const s = this.$refs.box.style;
      s.left = `${p.left}px`;
      s.top = `${p.top}px`;
      s.width = `${p.width}px`;
      s.height = `${p.height}px`;
      s.maxWidth = `${maxWidth}px`;
      s.maxHeight = `${maxHeight}px`;
    },
    // called from Python once the panel is shown: the window may have changed while it was hidden
    fit() {
      this.apply();
    },
    onPointerDown(e) {
      const handle = e.target.closest("[data-drag-handle]");
      const control = e.target.closest("button, input, textarea, a, [role=button]");
      if (!handle || e.button !== 0 || (control && !control.matches("[data-move-handle]"))) return;
      const startX = e.clientX, startY = e.clientY, left = this.place.left, top = this.place.top;
      const move = (m) => {
        this.place.left = left + m.clientX - startX;
        this.place.top = top + m.clientY - startY;
        this.apply();
      };
      const up = () => {
        window.removeEventListener("pointermove", move);
        window.removeEventListener("pointerup", up);
        this.save();
      };
      window.addEventListener("pointermove", move);
      window.addEventListener("pointerup", up);
      e.preventDefault();
    },
    onKeyDown(e) {
      if (!e.target.closest("[data-move-handle]")) return;
      const by = e.shiftKey ? 80 : 20;
      const step = { ArrowLeft: [-by, 0], ArrowRight: [by, 0], ArrowUp: [0, -by], ArrowDown: [0, by] }[e.key];
      if (!step) return;
      this.place.left += step[0];
      this.place.top += step[1];
      this.apply();
      this.save();
      e.preventDefault();
    },
  },
};
