// The builder's guided tour: a card beside each part of the page in turn, the part lit up, the rest dimmed.
// chatloomTour(steps, doneEvent, words): steps are {target: CSS selector, title, text, at: "2 of 5"}; when
// the tour ends the page hears doneEvent with {finished: true} (Done) or {finished: false} (Skip, Escape).
// words: the buttons' words in the builder's language ({skip, back, next, done}).
window.chatloomTour = (steps, doneEvent, words = {}) => {
  const say = { skip: "Skip the tour", back: "Back", next: "Next", done: "Done", ...words };
  document.querySelectorAll(".chatloom-tour").forEach((el) => el.remove());
  const layer = document.createElement("div");
  layer.className = "chatloom-tour";
  layer.innerHTML = `
    <style>
      .chatloom-tour .ct-light { position: fixed; z-index: 9000; border-radius: 10px; pointer-events: none;
        box-shadow: 0 0 0 4px #3b82f6, 0 0 0 9999px rgba(15, 23, 42, .55); }
      .chatloom-tour .ct-card { position: fixed; z-index: 9001; width: 320px; background: #fff; border-radius: 12px;
        padding: 16px; box-shadow: 0 10px 30px rgba(0,0,0,.25); font: 14px/1.45 system-ui, sans-serif; color: #1e293b; }
      .chatloom-tour .ct-step { font-size: 12px; color: #64748b; }
      .chatloom-tour .ct-title { font-size: 16px; font-weight: 600; margin: 2px 0 6px; }
      .chatloom-tour .ct-buttons { display: flex; gap: 8px; margin-top: 14px; align-items: center; }
      .chatloom-tour button { font: inherit; border-radius: 8px; padding: 6px 12px; cursor: pointer; border: 1px solid #cbd5e1; background: #fff; }
      .chatloom-tour button.ct-next { background: #2563eb; border-color: #2563eb; color: #fff; }
      .chatloom-tour button.ct-skip { border: none; color: #475569; margin-right: auto; padding-left: 0; }
      .chatloom-tour button:focus-visible { outline: 2px solid #1d4ed8; outline-offset: 2px; }
    </style>
    <div class="ct-light"></div>
    <div class="ct-card" role="dialog" aria-modal="true" aria-labelledby="ct-title">
      <div class="ct-step"></div><div class="ct-title" id="ct-title"></div><div class="ct-text"></div>
      <div class="ct-buttons">
        <button type="button" class="ct-skip"></button>
        <button type="button" class="ct-back"></button>
        <button type="button" class="ct-next"></button>
      </div>
    </div>`;
  document.body.appendChild(layer);
  const light = layer.querySelector(".ct-light"), card = layer.querySelector(".ct-card");
  const back = layer.querySelector(".ct-back"), next = layer.querySelector(".ct-next");
  layer.querySelector(".ct-skip").textContent = say.skip;
  back.textContent = say.back;
  let at = 0;

  const end = (finished) => {
    layer.remove();
    removeEventListener("keydown", onKey, true);
    removeEventListener("resize", show);
    emitEvent(doneEvent, { finished });
  };
  const show = () => {
    const step = steps[at];
    const target = document.querySelector(step.target);
    const box = target ? target.getBoundingClientRect() : { left: innerWidth / 2, top: innerHeight / 3, width: 0, height: 0 };
    const pad = 6;
    Object.assign(light.style, { left: `${box.left - pad}px`, top: `${box.top - pad}px`,
      width: `${box.width + 2 * pad}px`, height: `${box.height + 2 * pad}px` });
    layer.querySelector(".ct-step").textContent = step.at || `${at + 1} / ${steps.length}`;
    layer.querySelector(".ct-title").textContent = step.title;
    layer.querySelector(".ct-text").textContent = step.text;
    back.style.visibility = at === 0 ? "hidden" : "visible";
    next.textContent = at === steps.length - 1 ? say.done : say.next;
    // beside the part: to its right when there is room, else to its left, else below it
    const w = card.offsetWidth, h = card.offsetHeight, gap = 16;
    let left = box.left + box.width + gap;
    if (left + w > innerWidth - 8) left = box.left - w - gap;
    let top = Math.min(Math.max(box.top, 8), innerHeight - h - 8);
    if (left < 8) { left = Math.min(Math.max(box.left, 8), innerWidth - w - 8); top = Math.min(box.top + box.height + gap, innerHeight - h - 8); }
    Object.assign(card.style, { left: `${left}px`, top: `${top}px` });
    next.focus();
  };
  const onKey = (e) => {
    if (e.key === "Escape") { e.preventDefault(); end(false); }
  };
  next.onclick = () => { if (at === steps.length - 1) end(true); else { at += 1; show(); } };
  back.onclick = () => { if (at > 0) { at -= 1; show(); } };
  layer.querySelector(".ct-skip").onclick = () => end(false);
  addEventListener("keydown", onKey, true);
  addEventListener("resize", show);
  show();
};
