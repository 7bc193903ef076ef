// Search across every topic and conversation the person may read (docs/chat.md "Search", docs/ui.md):
// the /search/ page (words, topic, author, the author's centre, a date range, "More results") and the
// topic page's search box (this topic, with a link to search them all). Both ask GET /api/v1/search,
// which applies the same visibility rule as history; each hit shows the server's highlighted text
// (`highlight`: escaped text whose only markup is <mark>) and links to /topics/<slug>/#m-ID, where the
// topic page scrolls to the message and highlights it.

import {$, api, centreCode, el, fmt, gettext, ngettext, personName, setHtml, timeEl} from "./util.js";

const FILTERS = ["q", "topic", "author", "centre", "since", "until"];

function jumpPath(m) {
  return `/topics/${encodeURIComponent(m.topic)}/#m-${m.id}`;
}

/** One search hit: where, who, when, the highlighted text, and the link to the message. */
export function renderHit(m, {showTopic = true} = {}) {
  const snippet = el("div", {class: "search-snippet"});
  setHtml(snippet, m.highlight || m.html); // server-made: escaped text, <mark> only (chat.text.highlight)
  const link = el("a", {class: "search-jump", href: jumpPath(m)}, gettext("Go to message"));
  return el("li", {class: "search-hit msg", dataset: {id: String(m.id), topic: m.topic}},
    el("div", {class: "msg-head"},
      showTopic ? el("a", {class: "search-topic", href: `/topics/${encodeURIComponent(m.topic)}/`},
        m.topic_name || m.topic) : null, showTopic ? " · " : null,
      el("strong", {}, personName(m.author)), " ",
      el("span", {class: "centre-tag"}, centreCode(m.author && m.author.centre)), " ",
      el("a", {href: jumpPath(m), class: "msg-time"}, timeEl(m.created_at)),
      m.thread_root ? el("span", {class: "muted"}, ` · ${gettext("in a thread")}`) : null),
    snippet, link);
}

function queryOf(values) {
  const params = new URLSearchParams();
  for (const name of FILTERS) {
    const v = (values[name] || "").trim();
    if (v) params.set(name, v);
  }
  return params;
}

/** The topic page's search box: this topic's messages, with a way on to every topic. */
export function bindTopicSearch(slug) {
  const form = $("#search-form");
  const panel = $("#search-results");
  if (!form || !panel) return;
  const list = $("#search-list");
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const q = $("#search-q").value.trim();
    if (!q) return;
    list.replaceChildren(el("li", {class: "muted"}, gettext("Searching…")));
    panel.hidden = false;
    const r = await api("GET", `/api/v1/search?${queryOf({q, topic: slug})}`);
    list.replaceChildren();
    if (!r.ok) { list.append(el("li", {class: "error"}, r.error.detail)); return; }
    const found = (r.data && r.data.results) || [];
    if (!found.length) list.append(el("li", {class: "muted"}, gettext("No messages found.")));
    for (const m of found) list.append(renderHit(m, {showTopic: false}));
    list.append(el("li", {class: "search-everywhere"},
      el("a", {href: `/search/?${queryOf({q})}`}, gettext("Search all topics"))));
  });
  // Following a hit's link in this topic only changes the address's #m-ID: the topic page (its
  // hashchange handler) scrolls there; the panel closes so the message can be seen.
  list.addEventListener("click", (e) => {
    const a = e.target.closest("a.search-jump, a.msg-time");
    if (a && new URL(a.href).pathname === window.location.pathname) panel.hidden = true;
  });
  $("#search-close").addEventListener("click", () => { panel.hidden = true; $("#search-q").focus(); });
}

/** A message no longer shown to me (`message.withdrawn`) leaves the topic page's search results. */
export function withdrawHit(id) {
  const list = $("#search-list");
  if (!list) return;
  for (const hit of list.querySelectorAll(`li.search-hit[data-id="${Number(id)}"]`)) hit.remove();
}

/** The /search/ page. The filters live in the address, so a search can be bookmarked and shared. */
export function startSearchPage() {
  const form = $("#search-page-form");
  const results = $("#search-page-results");
  const status = $("#search-page-status");
  const error = $("#search-page-error");
  const more = $("#search-page-more");
  let next = null;
  let params = null;
  let perPage = null;

  const fill = (from) => {
    for (const name of FILTERS) {
      const field = form.elements[name];
      if (field && from.has(name)) field.value = from.get(name);
    }
  };

  let generation = 0; // the latest search; an answer to an earlier one arriving late is dropped
  const run = async (append) => {
    const mine = ++generation;
    error.textContent = "";
    more.hidden = true;
    if (!append) { results.replaceChildren(); status.textContent = gettext("Searching…"); }
    const query = new URLSearchParams(params);
    if (perPage) query.set("limit", perPage);
    if (append && next) query.set("cursor", next);
    const r = await api("GET", `/api/v1/search?${query}`);
    if (mine !== generation) return;
    if (!r.ok) {
      status.textContent = "";
      error.textContent = r.error.detail; // e.g. the words are missing, a date is wrong
      return;
    }
    const found = r.data.results || [];
    for (const m of found) results.append(renderHit(m));
    next = r.data.next;
    more.hidden = !next;
    const shown = results.children.length;
    status.textContent = shown
      ? fmt(ngettext("%(n)s message shown.", "%(n)s messages shown.", shown), {n: shown})
      : gettext("No messages found.");
  };

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const values = Object.fromEntries(FILTERS.map((name) => [name, form.elements[name] ? form.elements[name].value : ""]));
    params = queryOf(values);
    if (!params.get("q")) { $("#search-page-q").focus(); return; }
    history.replaceState(null, "", `${window.location.pathname}?${params}`);
    next = null;
    run(false);
  });
  more.addEventListener("click", () => run(true));

  const asked = new URLSearchParams(window.location.search);
  perPage = /^\d{1,3}$/.test(asked.get("limit") || "") ? asked.get("limit") : null; // else the API's 50
  fill(asked);
  if ((asked.get("q") || "").trim()) {
    params = queryOf(Object.fromEntries(FILTERS.map((name) => [name, asked.get(name) || ""])));
    run(false);
  } else {
    $("#search-page-q").focus();
  }
}
