// Pinned messages (issue 26 §3, docs/chat.md "Pins"): "Pin"/"Unpin" for the people the topic allows
// (its `may_pin`; in the security topic its security officers and managers), a "Pinned" mark on the
// message, and the pinned list one click from the topic header, kept live by `message.pinned`.

import {onTopicFrame, registerMessageAction, registerMessagePart} from "../message_actions.js";
import {$, api, centreCode, el, fmt, gettext, icon, personName, setHtml, timeEl} from "../util.js";

const topics = new Map(); // slug → the topic object (may_pin)
const pins = new Map(); // message id → {message, pinned_by, pinned_at}

const base = (slug) => `/api/v1/topics/${encodeURIComponent(slug)}`;

function mayPin(slug) {
  const topic = topics.get(slug);
  return Boolean(topic && topic.may_pin);
}

async function setPinned(m, ctx, pinned) {
  const r = await api(pinned ? "POST" : "DELETE", `${base(ctx.slug)}/messages/${m.id}/pin`);
  if (!r.ok) { ctx.fail(r.error.detail); return; }
  ctx.update(r.data);
  ctx.say(pinned ? gettext("Pinned.") : gettext("Unpinned."));
}

function renderButton() {
  const button = $("#pins-button");
  if (!button) return;
  // On a phone only the pin and the count show (hub.css: the count from data-count, the words
  // visually hidden but still the button's name).
  button.replaceChildren(icon("pin", 16), " ",
    el("span", {class: "tool-label"}, fmt(gettext("Pinned (%(n)s)"), {n: pins.size})));
  button.dataset.count = String(pins.size);
  const list = $("#pins-list");
  if (list) fillList(list);
}

function fillList(list) {
  list.replaceChildren();
  const items = Array.from(pins.values()).sort((a, b) => String(b.pinned_at).localeCompare(String(a.pinned_at)));
  for (const pin of items) {
    const m = pin.message;
    const body = el("div", {class: "rendered"});
    setHtml(body, m.html);
    list.append(el("li", {class: "pin", dataset: {id: String(m.id)}},
      el("div", {class: "msg-head"}, el("strong", {}, personName(m.author)), " ",
        el("span", {class: "centre-tag"}, centreCode(m.author && m.author.centre)), " ",
        el("a", {href: `#m-${m.id}`}, timeEl(m.created_at))),
      body,
      pin.pinned_by ? el("p", {class: "muted"}, fmt(gettext("Pinned by %(name)s"), {name: personName(pin.pinned_by)})) : null));
  }
  if (!items.length) list.append(el("li", {class: "muted"}, gettext("Nothing is pinned in this topic.")));
}

function toggleList(button) {
  const old = $("#pins-list");
  if (old) { old.remove(); button.setAttribute("aria-expanded", "false"); return; }
  const list = el("ol", {class: "pins-list popover", id: "pins-list", "aria-label": gettext("Pinned messages"),
    dataset: {testid: "pins-list"}});
  fillList(list);
  list.addEventListener("click", (e) => { if (e.target.closest("a")) { list.remove(); button.setAttribute("aria-expanded", "false"); } });
  button.after(list);
  button.setAttribute("aria-expanded", "true");
}

async function install(view) {
  const head = view.root && view.root.querySelector(".chat-head");
  if (!head || $("#pins-button")) return;
  const tools = head.querySelector(".chat-tools") || el("div", {class: "chat-tools"});
  if (!tools.isConnected) head.append(tools);
  const button = el("button", {type: "button", id: "pins-button", class: "secondary", "aria-expanded": "false",
    "aria-controls": "pins-list"});
  button.addEventListener("click", () => toggleList(button));
  const search = tools.querySelector("#search-toggle"); // the phone's search button comes first
  if (search) search.after(button);
  else tools.prepend(button);
  const [topic, listed] = await Promise.all([api("GET", base(view.slug)), api("GET", `${base(view.slug)}/pins`)]);
  if (topic.ok) topics.set(view.slug, topic.data);
  if (listed.ok) for (const pin of listed.data.results || []) pins.set(pin.message.id, pin);
  renderButton();
  // Messages drawn before we knew whether the viewer may pin get their menu again.
  if (mayPin(view.slug)) {
    for (const [id, node] of Array.from(view.nodes.entries())) node.replaceWith(view.renderAgain(id));
  }
}

(function whenViewReady(tries = 0) {
  const view = window.hubTopic;
  if (view && view.root) { install(view); return; }
  if (tries < 100 && document.body.dataset.page === "topic") setTimeout(() => whenViewReady(tries + 1), 50);
})();

registerMessageAction({
  id: "pin",
  label: () => gettext("Pin"),
  icon: "pin",
  order: 40,
  when: (m, ctx) => !ctx.deleted && !m.pinned && mayPin(ctx.slug),
  run: (m, ctx) => setPinned(m, ctx, true),
});

registerMessageAction({
  id: "unpin",
  label: () => gettext("Unpin"),
  icon: "pin",
  order: 40,
  when: (m, ctx) => !ctx.deleted && m.pinned && mayPin(ctx.slug),
  run: (m, ctx) => setPinned(m, ctx, false),
});

registerMessagePart({
  id: "pinned",
  order: 5,
  render: (m) => (m.pinned ? el("p", {class: "pinned-mark muted"}, icon("pin", 14), " ", gettext("Pinned")) : null),
});

// The version of the newest pin state heard per message: a pin and an unpin made through two
// processes may arrive crossed, and the older must not win (message_state.js).
const pinVersions = new Map();

onTopicFrame("message.pinned", (frame, view) => {
  const id = frame.message.id, version = frame.message.version || 0;
  if ((pinVersions.get(id) ?? -1) > version) return;
  pinVersions.set(id, version);
  if (frame.pinned) pins.set(id, frame);
  else pins.delete(id);
  renderButton();
  // The frame's message is the whole message at that version, its "Pinned" mark included.
  if (view.messages.get(id)) view.upsert(frame.message, {replace: true});
});

// A message no longer mine to see leaves the pinned list with the rest of the page (chat.js).
onTopicFrame("message.withdrawn", (frame) => {
  if (pins.delete(frame.id)) renderButton();
});

// A sync brings back messages and what changed in them (a message's own "Pinned" mark included), not
// the topic's list: after a reconnect the list is read again, so pins made or removed meanwhile show.
// The first sync follows the page's own read of the list (`install`).
let syncs = 0;
onTopicFrame("sync.done", async (frame, view) => {
  if (syncs++ === 0 || !$("#pins-button")) return;
  const listed = await api("GET", `${base(view.slug)}/pins`);
  if (!listed.ok) return;
  pins.clear();
  for (const pin of listed.data.results || []) pins.set(pin.message.id, pin);
  renderButton();
});
