// Read receipts under a topic's messages: "đã xem: DN 3, HUE 1", the readers' names on hover
// (chat/receipts.py decides who counts and when names are left out), kept live by the `receipt`
// frames; and the person's own switch to share their read state (off: they see nobody else's).

import {registerMessagePart, onTopicFrame} from "../message_actions.js";
import {$, $$, api, el, fmt, gettext} from "../util.js";

const RECENT = 50;
let slug = null;
let timer = null;
let sharing = null;

function schedule(delay = 250) {
  clearTimeout(timer);
  timer = setTimeout(refresh, delay);
}

function text(r) {
  return fmt(gettext("seen: %(list)s"), {list: r.centres.map((c) => `${c.centre || "—"} ${c.count}`).join(", ")});
}

function names(r) {
  if (!r.centres.some((c) => c.people)) return fmt(gettext("%(n)s readers: too many to name them"), {n: r.total});
  return r.centres.map((c) => `${c.centre || "—"}: ${(c.people || []).join(", ")}`).join("\n");
}

async function refresh() {
  if (!slug) return;
  const spans = $$("#messages .msg-receipts").slice(-RECENT);
  if (!spans.length) return;
  const ids = spans.map((s) => s.dataset.receiptsFor).join(",");
  const r = await api("GET", `/api/v1/topics/${encodeURIComponent(slug)}/receipts?ids=${ids}`);
  if (!r.ok) return;
  showSwitch(r.data.sharing);
  const byId = new Map(r.data.results.map((x) => [String(x.id), x]));
  for (const span of spans) {
    const found = byId.get(span.dataset.receiptsFor);
    span.hidden = !found || !found.total;
    span.textContent = found && found.total ? text(found) : "";
    span.title = found && found.total ? names(found) : "";
    span.dataset.total = found ? String(found.total) : "0";
  }
}

function showSwitch(value) {
  sharing = value;
  let box = $("#receipts-share");
  if (!box) {
    // Beside the topic's description (behind "About this topic" on a phone), else under the title.
    const home = $("#topic-info") || $(".chat-head");
    if (!home) return;
    const input = el("input", {type: "checkbox", id: "receipts-share-input"});
    input.addEventListener("change", async () => {
      const r = await api("PUT", "/api/v1/me/read-receipts", {share: input.checked});
      if (r.ok) { sharing = r.data.share; schedule(0); }
    });
    box = el("label", {id: "receipts-share", class: "receipts-share muted", dataset: {testid: "receipts-share"}}, input, " ",
      gettext("Share that I have read messages (off: I see nobody's)"));
    home.prepend(box);
  }
  $("#receipts-share-input").checked = Boolean(value);
  if (!value) for (const s of $$("#messages .msg-receipts")) { s.hidden = true; s.textContent = ""; }
}

registerMessagePart({
  id: "receipts",
  order: 90,
  render: (m, ctx) => {
    slug = ctx.slug;
    if (ctx.deleted || !m.id) return null;
    schedule();
    return el("span", {class: "msg-receipts muted", hidden: true, dataset: {receiptsFor: String(m.id)}});
  },
});

onTopicFrame("receipt", () => { if (sharing !== false) schedule(400); });
