// The local run's console: plain JS, no build step, nothing from elsewhere.  It polls
// /_local/changes once a second and reads the rest only when that moved.
"use strict";

const state = { changes: null, outbox: null, query: "", selected: null, shown: {} };

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function get(url, options) {
  const resp = await fetch(url, { cache: "no-store", ...options });
  const text = await resp.text();
  try { return JSON.parse(text); } catch { return text; }
}

function show(value) {
  return typeof value === "string" ? value : JSON.stringify(value, null, 2);
}

function short(value) {
  if (value === null || value === undefined) return "∅";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > 120 ? text.slice(0, 117) + "…" : text;
}

function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return isNaN(d) ? String(iso) : d.toLocaleString();
}

// -- tickets ----------------------------------------------------------------------------
async function find(query) {
  state.query = query;
  const found = await get("/_local/find?q=" + encodeURIComponent(query));
  const list = document.getElementById("results");
  list.replaceChildren(...found.map((t) => el("li", {
      "data-id": t.id,
      class: t.id === state.selected ? "selected" : null,
      onclick: () => select(t.id),
    },
    el("div", { class: "title" }, `#${t.id} ${t.title || "(no title)"}`),
    el("div", { class: "meta" }, `${t.number} · ${t.key} · ${t.ref}`),
    el("div", { class: "meta" }, `${t.status}${t.sub_status ? " / " + t.sub_status : ""} · v${t.version} · ${t.matched}`),
  )));
  if (!found.length) list.replaceChildren(el("li", { class: "empty" }, "No ticket matches."));
  if (found.length === 1 && state.selected !== found[0].id && query) select(found[0].id);
}

async function select(id) {
  state.selected = id;
  for (const li of document.querySelectorAll("#results li")) {
    li.classList.toggle("selected", Number(li.dataset.id) === id);
  }
  await renderTicket();
}

const ORDER = ["canonical", "spp", "kapture", "servicedesk", "myhrw", "particlespace"];
const NAMES = { canonical: "Canonical", spp: "SPP TicketResource", kapture: "Kapture ticket",
  servicedesk: "servicedesk GetTicket", myhrw: "MyHRW partner tickets", particlespace: "ParticleSpace ticket" };

async function renderTicket() {
  const id = state.selected;
  if (id === null) return;
  const [views, history] = await Promise.all([
    get(`/_local/tickets/${id}/views`),
    get(`/_local/tickets/${id}/history`),
  ]);
  if (state.selected !== id) return;
  const box = document.getElementById("ticket");
  const canonical = (views.canonical || {}).body || {};
  const cards = ORDER.filter((d) => d in views).map((d) => {
    const view = views[d];
    const status = view.status ? ` · ${view.status}` : "";
    return el("div", { class: "view", "data-dialect": d },
      el("header", {}, el("b", {}, NAMES[d] || d), status, el("span", { class: "how" }, view.how || "")),
      view.error ? el("div", { class: "error" }, view.error) : el("pre", {}, show(view.body)));
  });
  const entries = (history && (history.items || history.entries)) || [];
  const timeline = el("ol", { class: "timeline", id: "timeline" }, entries.map((e) => el("li", {
      class: "entry", "data-version": e.version, "data-dialect": e.dialect },
    el("div", {},
      el("span", { class: `pill d-${e.dialect}` }, e.dialect),
      el("span", { class: "who" }, e.actor_name || e.actor), " ",
      el("span", { class: "meta" }, `v${e.version} · ${e.event} · ${when(e.at)}${e.request_id ? " · " + e.request_id : ""}`)),
    el("ul", { class: "changes" }, (e.changes || []).map((c) => el("li", {},
      el("code", { class: "field" }, c.field), ": ",
      el("code", { class: "before" }, short(c.before)), " → ",
      el("code", { class: "after" }, short(c.after))))),
  )));
  const previous = state.shown[id];
  box.replaceChildren(
    el("h2", {}, `#${id} ${canonical.title || ""}`,
      el("small", {}, `${canonical.number || ""} · ${canonical.key || ""} · ${canonical.ref || ""} · v${canonical.version || "?"}`)),
    el("div", { class: "views", id: "views" }, cards),
    el("h3", {}, "History", el("small", {}, "newest first: who, which dialect, before → after")),
    entries.length ? timeline : el("p", { class: "empty" }, "No changes yet."),
  );
  if (previous !== undefined && previous !== canonical.version) box.classList.add("flash");
  setTimeout(() => box.classList.remove("flash"), 1300);
  state.shown[id] = canonical.version;
}

// -- outbox, schedules, routes ------------------------------------------------------------
async function renderOutbox() {
  const box = await get("/_local/outbox");
  const emails = (box.emails || []).slice().reverse().map((m) => el("div", { class: "email", "data-id": m.id },
    el("div", { class: "subject" }, m.subject || "(no subject)"),
    el("div", { class: "meta" }, `from ${m.from || "?"} to ${(m.to || []).join(", ")}${(m.cc || []).length ? " cc " + m.cc.join(", ") : ""}`),
    el("pre", {}, typeof m.body === "object" && m.body ? (m.body.text || m.body.html || show(m.body)) : (m.body || m.raw || ""))));
  const sms = (box.sms || []).slice().reverse().map((m) => el("div", { class: "sms", "data-id": m.id },
    el("div", { class: "subject" }, `SMS to ${m.to}`), el("pre", {}, m.message)));
  document.getElementById("outbox").replaceChildren(
    el("h3", {}, `Emails (${emails.length})`),
    emails.length ? el("div", { class: "mails", id: "emails" }, emails) : el("p", { class: "empty" }, "No email sent yet."),
    el("h3", {}, `Text messages (${sms.length})`),
    sms.length ? el("div", { class: "mails", id: "sms" }, sms) : el("p", { class: "empty" }, "No text message sent yet."),
  );
}

async function renderSchedules() {
  const pending = await get("/_local/schedules");
  const rows = pending.map((s) => el("tr", { "data-name": s.name },
    el("td", {}, el("code", {}, s.name), el("div", { class: "meta" }, s.group)),
    el("td", {}, s.due ? when(s.due) : s.expression, el("div", { class: "meta" }, s.state)),
    el("td", {}, el("code", {}, (s.target || "").split(":").pop())),
    el("td", {}, el("pre", {}, short(s.input))),
    el("td", {}, el("button", { class: "quiet", onclick: async (ev) => {
      ev.target.disabled = true;
      await get(`/_local/schedules/fire?group=${encodeURIComponent(s.group)}&name=${encodeURIComponent(s.name)}`, { method: "POST" });
      await refresh(true);
    } }, "Fire now"))));
  document.getElementById("schedules").replaceChildren(rows.length
    ? el("table", {}, el("thead", {}, el("tr", {}, ["Schedule", "Due", "Target", "Input", ""].map((h) => el("th", {}, h)))), el("tbody", {}, rows))
    : el("p", { class: "empty" }, "No schedule pending."));
}

function copyButton(text) {
  return el("button", { class: "quiet", onclick: async (ev) => {
    try { await navigator.clipboard.writeText(text); ev.target.textContent = "Copied"; }
    catch { window.prompt("Copy:", text); }
    setTimeout(() => { ev.target.textContent = "Copy"; }, 1200);
  } }, "Copy");
}

async function renderRoutes() {
  const [creds, routes] = await Promise.all([get("/_local/credentials"), get("/_local/routes")]);
  const credRows = Object.entries(creds).flatMap(([dialect, labels]) => Object.entries(labels).map(([label, value]) =>
    el("tr", {}, el("td", {}, el("span", { class: `pill d-${dialect}` }, dialect)), el("td", {}, label),
      el("td", {}, el("code", {}, value)), el("td", {}, copyButton(`Authorization: ${value}`)))));
  document.getElementById("credentials").replaceChildren(el("h3", {}, "Demo credentials (Authorization header)"),
    el("table", {}, el("thead", {}, el("tr", {}, ["Dialect", "Client", "Header value", ""].map((h) => el("th", {}, h)))), el("tbody", {}, credRows)));
  const port = location.port || "80";
  const rows = routes.map((r) => {
    const curl = r.curl.replaceAll("${PORT:-3000}", port);
    return el("tr", {},
      el("td", {}, el("span", { class: `pill d-${r.dialect}` }, r.dialect)),
      el("td", {}, el("code", {}, `${r.method} ${r.path}`), el("div", { class: "meta" }, r.function)),
      el("td", {}, el("div", { class: "curl" }, el("pre", {}, curl), copyButton(curl))));
  });
  document.getElementById("routes").replaceChildren(el("h3", {}, "Routes"),
    el("table", {}, el("thead", {}, el("tr", {}, ["Dialect", "Route", "curl"].map((h) => el("th", {}, h)))), el("tbody", {}, rows)));
}

// -- refresh ----------------------------------------------------------------------------
let busy = false;
async function refresh(force) {
  if (busy) return;
  busy = true;
  const live = document.getElementById("live");
  try {
    const now = await get("/_local/changes");
    live.className = "on";
    live.textContent = `live · ${now.changes} changes`;
    const moved = force || now.changes !== state.changes;
    const mail = force || now.outbox !== state.outbox;
    state.changes = now.changes;
    state.outbox = now.outbox;
    const work = [];
    if (moved) work.push(find(state.query), renderSchedules());
    if (moved && state.selected !== null) work.push(renderTicket());
    if (mail) work.push(renderOutbox());
    await Promise.all(work);
  } catch (err) {
    live.className = "off";
    live.textContent = "not reachable";
  } finally {
    busy = false;
  }
}

document.getElementById("find").addEventListener("submit", (ev) => {
  ev.preventDefault();
  find(document.getElementById("q").value);
});

renderRoutes();
refresh(true);
setInterval(() => refresh(false), 1000);
