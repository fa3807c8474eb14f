// The console's "Events & webhooks" section: GET /_local/webhooks (read from the embedded AWS's
// memory: polling it costs no AWS request), every 2 seconds.
(function () {
  const box = document.getElementById("webhooks");
  if (!box) return;
  const node = (tag, attrs, ...kids) => {
    const e = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => (k.startsWith("on") ? e.addEventListener(k.slice(2), v) : e.setAttribute(k, v)));
    kids.flat().forEach((k) => e.append(k instanceof Node ? k : document.createTextNode(k == null ? "" : String(k))));
    return e;
  };
  const table = (heads, rows) => node("table", {}, node("thead", {}, node("tr", {}, heads.map((h) => node("th", {}, h)))), node("tbody", {}, rows));
  async function render() {
    let doc;
    try { doc = await (await fetch("/_local/webhooks?limit=50", { cache: "no-store" })).json(); } catch { return; }
    const events = doc.events.slice().reverse().map((e) => node("tr", {},
      node("td", {}, node("code", {}, e.event_id)), node("td", {}, e["detail-type"]),
      node("td", {}, `${(e.actor || {}).dialect || ""} · ${(e.actor || {}).name || ""}`),
      node("td", {}, (e.changes || []).map((c) => c.field).join(", ")), node("td", {}, e.time)));
    const deliveries = doc.deliveries.slice().reverse().map((d) => {
      const failed = (d.result && d.result.batchItemFailures || []).length || d.result.error;
      return node("tr", {}, node("td", {}, new Date(d.at * 1000).toLocaleTimeString()), node("td", {}, node("code", {}, d.messages.join(", "))),
        node("td", {}, failed ? "failed: retried with backoff" : "delivered"));
    });
    const replay = node("button", { class: "quiet", onclick: async () => { await fetch("/_local/webhooks/replay", { method: "POST" }); render(); } }, "Replay");
    box.replaceChildren(
      node("h3", {}, `Bus events (${doc.events.length} latest)`),
      events.length ? table(["Event id", "Kind", "Actor", "Changed", "Time"], events) : node("p", { class: "empty" }, "No change yet."),
      node("h3", {}, `Webhook deliveries (${doc.deliveries.length} latest)`),
      deliveries.length ? table(["At", "Event", "Outcome"], deliveries) : node("p", { class: "empty" }, "No delivery yet: POST /webhooks with a loopback URL (README)."),
      node("h3", {}, `Dead-letter queue (${doc.dead_letters.length})`, doc.dead_letters.length ? [" ", replay] : []),
    );
  }
  render();
  setInterval(render, 2000);
})();
