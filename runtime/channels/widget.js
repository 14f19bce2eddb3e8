// Chatloom web chat: a bubble that opens a chat with a Chatloom flow. Served by Chatloom, no CDN.
// <script src="https://your.server/widget/ACCOUNT.js" async></script>
(() => {
  const me = document.currentScript || [...document.scripts].find((s) => /\/widget\/[^/]+\.js/.test(s.src));
  const src = new URL(me.src, location.href);
  const account = decodeURIComponent(src.pathname.match(/\/widget\/([^/]+)\.js$/)[1]);
  const wsBase = (src.protocol === "https:" ? "wss://" : "ws://") + src.host;
  const key = (k) => `chatloom:${account}:${k}`;
  let visitor = localStorage.getItem(key("visitor"));
  if (!visitor) {
    visitor = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
    localStorage.setItem(key("visitor"), visitor);
  }
  const pending = JSON.parse(localStorage.getItem(key("pending")) || "[]"); // sent, not yet acknowledged
  let counter = Number(localStorage.getItem(key("counter")) || "0");
  let last = 0, socket = null, retry = 500, opened = false;

  const root = document.createElement("div");
  root.className = "chatloom-widget";
  root.innerHTML = `
    <style>
      .chatloom-widget { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; font: 14px/1.4 system-ui, sans-serif; }
      .chatloom-widget .cl-bubble { width: 56px; height: 56px; border-radius: 50%; border: none; background: #1976d2; color: #fff;
        font-size: 26px; cursor: pointer; box-shadow: 0 2px 8px #0004; float: right; }
      .chatloom-widget .cl-panel { display: none; width: 320px; height: 440px; margin-bottom: 10px; background: #fff; border-radius: 10px;
        box-shadow: 0 4px 20px #0004; flex-direction: column; overflow: hidden; }
      .chatloom-widget.cl-open .cl-panel { display: flex; }
      .chatloom-widget .cl-log { flex: 1; overflow-y: auto; padding: 10px; display: flex; flex-direction: column; gap: 6px; }
      .chatloom-widget .cl-msg { max-width: 80%; padding: 6px 10px; border-radius: 10px; white-space: pre-wrap; word-wrap: break-word; }
      .chatloom-widget .cl-out { background: #eee; align-self: flex-start; }
      .chatloom-widget .cl-in { background: #1976d2; color: #fff; align-self: flex-end; }
      .chatloom-widget .cl-buttons { display: flex; flex-wrap: wrap; gap: 4px; }
      .chatloom-widget .cl-buttons button { border: 1px solid #1976d2; color: #1976d2; background: #fff; border-radius: 14px; padding: 3px 10px; cursor: pointer; }
      .chatloom-widget .cl-rate { align-self: flex-start; font-size: 11px; color: #888; margin-top: -4px; }
      .chatloom-widget .cl-rate button { border: none; background: none; cursor: pointer; padding: 0 3px; }
      .chatloom-widget .cl-head { display: flex; align-items: center; gap: 8px; padding: 10px 12px; background: #1976d2; color: #fff; }
      .chatloom-widget .cl-title { flex: 1; font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
      .chatloom-widget .cl-close { border: none; background: none; color: #fff; font-size: 22px; line-height: 1; cursor: pointer;
        width: 32px; height: 32px; border-radius: 50%; }
      .chatloom-widget .cl-close:hover, .chatloom-widget .cl-close:focus-visible { background: #ffffff33; }
      .chatloom-widget form { display: flex; align-items: center; gap: 6px; border-top: 1px solid #ddd; padding: 6px 8px; }
      .chatloom-widget input { flex: 1; border: 1px solid #ddd; border-radius: 18px; padding: 8px 12px; font: inherit; outline: none; }
      .chatloom-widget input:focus { border-color: #1976d2; }
      .chatloom-widget .cl-send { width: 36px; height: 36px; flex: none; border: none; border-radius: 50%; background: #1976d2;
        color: #fff; cursor: pointer; display: flex; align-items: center; justify-content: center; }
      .chatloom-widget .cl-send:hover { background: #115293; }
      .chatloom-widget .cl-bubble svg, .chatloom-widget .cl-send svg { width: 20px; height: 20px; fill: currentColor; }
      .chatloom-widget .cl-bubble { display: flex; align-items: center; justify-content: center; }
      .chatloom-widget .cl-bubble svg { width: 28px; height: 28px; }
      .chatloom-widget .cl-status { font-size: 11px; color: #888; padding: 0 10px; min-height: 14px; }
      .chatloom-widget img { max-width: 100%; border-radius: 6px; }
    </style>
    <div class="cl-panel" role="dialog" aria-label="Chat">
      <div class="cl-head"><span class="cl-title"></span><button type="button" class="cl-close" aria-label="Close the chat">×</button></div>
      <div class="cl-log" aria-live="polite"></div>
      <div class="cl-status"></div>
      <form><input placeholder="Type a message" maxlength="4096" aria-label="Message"><button type="submit" class="cl-send" aria-label="Send"><svg viewBox="0 0 24 24" aria-hidden="true"><path d="M3.4 20.4 21 12 3.4 3.6 3.4 10.1 15 12 3.4 13.9z"/></svg></button></form>
    </div>
    <button class="cl-bubble" aria-label="Open the chat"><svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"/></svg></button>`;
  document.body.appendChild(root);
  const log = root.querySelector(".cl-log"), status = root.querySelector(".cl-status");
  const input = root.querySelector("input");
  // the bot's name on the Channels page, as its title ("acme-support" → "Acme support")
  const title = account.replace(/[-_]+/g, " ").trim();
  root.querySelector(".cl-title").textContent = title.charAt(0).toUpperCase() + title.slice(1);

  function save() {
    localStorage.setItem(key("pending"), JSON.stringify(pending));
    localStorage.setItem(key("counter"), String(counter));
  }

  function render(line) {
    if (line.id <= last) return;
    last = line.id;
    log.querySelectorAll(".cl-buttons").forEach((b) => b.remove()); // only the newest buttons can be pressed
    const bubble = document.createElement("div");
    bubble.className = "cl-msg " + (line.direction === "in" ? "cl-in" : "cl-out");
    bubble.textContent = line.direction === "in" && line.choice && !line.text ? line.choice : line.text || "";
    if (line.media) {
      const m = line.media;
      const address = new URL(m.url, src); // the bot's own files (spoken replies) live on its server, not the page's
      const url = address.href;
      // only web addresses become links or sources: a javascript: or data: address is shown as text
      const web = address.protocol === "https:" || address.protocol === "http:";
      const el = !web ? Object.assign(document.createElement("span"), { textContent: m.name || m.url })
        : m.kind === "image" ? Object.assign(document.createElement("img"), { src: url, alt: m.name || "" })
        : m.kind === "audio" ? Object.assign(document.createElement("audio"), { src: url, controls: true })
        : Object.assign(document.createElement("a"), { href: url, textContent: m.name || m.url, target: "_blank", rel: "noopener noreferrer" });
      bubble.appendChild(document.createElement("br"));
      bubble.appendChild(el);
    }
    log.appendChild(bubble);
    if (line.direction === "out" && line.feedback) { // an AI answer: the visitor may rate it
      const row = document.createElement("div");
      row.className = "cl-rate";
      for (const [label, score] of [["👍", 1], ["👎", -1]]) {
        const button = document.createElement("button");
        button.textContent = label;
        button.setAttribute("aria-label", score > 0 ? "Good answer" : "Bad answer");
        button.onclick = () => { send({ type: "rate", feedback: line.feedback, score }); row.textContent = "Thanks!"; };
        row.appendChild(button);
      }
      log.appendChild(row);
    }
    if (line.direction === "out" && line.buttons && line.buttons.length) {
      const row = document.createElement("div");
      row.className = "cl-buttons";
      for (const b of line.buttons) {
        const button = document.createElement("button");
        button.textContent = b.title;
        button.onclick = () => say(b.title, b.value || b.title);
        row.appendChild(button);
      }
      log.appendChild(row);
    }
    log.scrollTop = log.scrollHeight;
  }

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  function say(text, choice) {
    const message = { type: "say", id: String(++counter), text, choice: choice ?? null };
    pending.push(message);
    save();
    send(message);
  }

  function connect() {
    socket = new WebSocket(`${wsBase}/widget/${encodeURIComponent(account)}/ws?visitor=${visitor}`);
    socket.onopen = () => {
      retry = 500;
      status.textContent = "";
      send({ type: "hello", after: last });
      for (const message of pending) send(message); // what was sent while offline, answered once
    };
    socket.onmessage = (e) => {
      const data = JSON.parse(e.data);
      if (data.type === "line") render(data);
      else if (data.type === "ack") {
        const i = pending.findIndex((m) => m.id === data.id);
        if (i >= 0) pending.splice(i, 1);
        save();
      } else if (data.type === "error") status.textContent = data.detail;
    };
    socket.onclose = (e) => {
      if (e.code === 4404) { status.textContent = "This chat is not available."; return; }
      status.textContent = "Reconnecting…";
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 15000);
    };
  }

  root.querySelector("form").onsubmit = (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (text) say(text, null);
    input.value = "";
  };
  root.querySelector(".cl-bubble").onclick = () => {
    root.classList.toggle("cl-open");
    if (!opened) { opened = true; connect(); }
    if (root.classList.contains("cl-open")) input.focus();
  };
  root.querySelector(".cl-close").onclick = () => {
    root.classList.remove("cl-open");
    localStorage.setItem(key("open"), "0");
    root.querySelector(".cl-bubble").focus();
  };
  if (localStorage.getItem(key("open")) === "1") root.querySelector(".cl-bubble").click();
  root.querySelector(".cl-bubble").addEventListener("click", () =>
    localStorage.setItem(key("open"), root.classList.contains("cl-open") ? "1" : "0"));
})();
