// Threaded replies (issue 26 §2, docs/chat.md "Threads"): "Reply in thread" on every message, the
// reply count and last reply time under a thread's root, the thread in a side panel (the whole
// screen on a phone) with its own composer and "Also send to the channel", its own read state, and
// a "Threads" button listing the threads I took part in with their unread replies.

import {onTopicFrame, registerMessageAction, registerMessagePart, renderParts} from "../message_actions.js";
import {$, api, centreCode, el, fmt, gettext, icon, ngettext, personName, setHtml, timeEl} from "../util.js";
import {merged, withReactions} from "../message_state.js";

let panel = null; // {root: id, node, list, replies: Map(id → message), view, next: cursor of earlier replies}

// Replies are loaded a page at a time, the latest first, like the topic's history (chat.js): the
// earlier ones when the reader scrolls back to the top of the panel (or presses "Earlier replies").
const THREAD_PAGE = 50;

const topicUrl = (view) => `/api/v1/topics/${encodeURIComponent(view.slug)}`;

function replyNode(m, view) {
  const body = el("div", {class: "msg-body rendered"});
  if (m.deleted) body.append(el("em", {class: "muted"}, gettext("This message was deleted.")));
  else setHtml(body, m.html);
  const ctx = view.contextFor(m);
  return el("li", {class: "msg thread-reply", dataset: {id: String(m.id)}},
    el("div", {class: "msg-head"}, el("strong", {class: "author"}, personName(m.author)), " ",
      el("span", {class: "centre-tag"}, centreCode(m.author && m.author.centre)), " ", timeEl(m.created_at)),
    body, ...renderParts(m, ctx).filter((n) => !n.classList.contains("thread-summary")));
}

function renderPanel({keepPlace = false} = {}) {
  if (!panel) return;
  const {view, list} = panel;
  const root = view.messages.get(panel.root) || panel.rootMessage;
  const oldHeight = list.scrollHeight;
  const oldTop = list.scrollTop;
  const replies = Array.from(panel.replies.values()).sort((a, b) => a.id - b.id).map((m) => replyNode(m, view));
  list.replaceChildren(...[root ? replyNode(root, view) : null, panel.next ? panel.earlier : null, ...replies]
    .filter(Boolean));
  const count = Math.max(panel.replies.size, (root && root.reply_count) || 0);
  panel.node.querySelector(".thread-count").textContent =
    fmt(ngettext("%(n)s reply", "%(n)s replies", count), {n: count});
  if (keepPlace) list.scrollTop = oldTop + (list.scrollHeight - oldHeight);
  else list.scrollTop = list.scrollHeight;
  markThreadRead();
}

/** The page of replies before the earliest loaded one (`next` is the API's cursor going back). */
async function loadEarlierReplies() {
  if (!panel || !panel.next || panel.loadingEarlier) return;
  const {view, root} = panel;
  const button = panel.earlierButton;
  panel.loadingEarlier = true;
  button.disabled = true;
  button.textContent = gettext("Loading earlier replies…");
  const r = await api("GET", `${topicUrl(view)}/messages?thread=${root}&limit=${THREAD_PAGE}` +
    `&cursor=${encodeURIComponent(panel.next)}`);
  if (!panel || panel.root !== root) return;
  panel.loadingEarlier = false;
  button.disabled = false;
  button.textContent = gettext("Earlier replies");
  if (!r.ok) { panel.node.querySelector(".thread-composer .error").textContent = r.error.detail; return; }
  for (const m of r.data.results || []) keepReply(m);
  panel.next = r.data.next;
  renderPanel({keepPlace: true});
}

async function markThreadRead() {
  if (!panel || document.visibilityState !== "visible") return;
  const newest = Math.max(0, ...panel.replies.keys());
  if (newest <= (panel.readUpTo || 0)) return;
  panel.readUpTo = newest;
  // The panel may be closed (panel = null) before the answer comes: keep what the call needs.
  const {view, root} = panel;
  await api("POST", `${topicUrl(view)}/threads/${root}/read`, {up_to: newest});
  refreshThreadsButton(view);
}

function closeThread() {
  if (!panel) return;
  const {view} = panel;
  if (panel.observer) panel.observer.disconnect();
  panel.node.remove();
  panel = null;
  document.body.classList.remove("thread-open");
  if (view.input) view.input.focus();
}

/** Open the thread of `rootId` in the side panel. */
export async function openThread(view, rootId) {
  closeThread();
  const list = el("ol", {class: "messages thread-messages", "aria-live": "polite", dataset: {testid: "thread-messages"}});
  const input = el("textarea", {rows: 2, id: "thread-input", "aria-label": gettext("Reply in thread")});
  const also = el("input", {type: "checkbox", id: "thread-also-channel"});
  const error = el("p", {class: "error", role: "alert"});
  const form = el("form", {class: "composer thread-composer"}, input,
    el("label", {for: "thread-also-channel", class: "also-channel"}, also, " ", gettext("Also send to the channel")),
    error, el("div", {class: "composer-actions"}, el("button", {type: "submit"}, gettext("Reply"))));
  const node = el("aside", {class: "thread-panel", id: "thread-panel", role: "complementary",
    "aria-labelledby": "h-thread", dataset: {root: String(rootId)}},
  el("div", {class: "thread-head"}, el("h2", {id: "h-thread"}, gettext("Thread")), " ",
    el("span", {class: "muted thread-count"}), " ",
    el("button", {type: "button", class: "secondary thread-close", onclick: closeThread}, gettext("Close"))),
  list, form);
  const earlier = el("li", {class: "thread-earlier"}, el("button", {type: "button", class: "link-button",
    dataset: {testid: "thread-earlier"}, onclick: () => loadEarlierReplies()}, gettext("Earlier replies")));
  panel = {root: rootId, node, list, replies: new Map(), view, readUpTo: 0, next: null,
    earlier, earlierButton: earlier.firstChild};
  (view.root || document.body).append(node);
  document.body.classList.add("thread-open");
  const send = async () => {
    const body = input.value;
    if (!body.trim()) return;
    error.textContent = "";
    const client_id = (crypto.randomUUID && crypto.randomUUID()) || String(Date.now());
    const r = await api("POST", `${topicUrl(view)}/messages`,
      {body, reply_to: rootId, also_channel: also.checked, client_id});
    if (!r.ok) { error.textContent = r.error.detail; return; }
    input.value = "";
    also.checked = false;
    addReply(r.data);
    if (r.data.also_channel) view.upsert(r.data, {live: true});
  };
  form.addEventListener("submit", (e) => { e.preventDefault(); send(); });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
    else if (e.key === "Escape") { e.preventDefault(); closeThread(); }
  });
  if (!view.messages.get(rootId)) {
    const r = await api("GET", `${topicUrl(view)}/messages/${rootId}`);
    if (r.ok && panel) panel.rootMessage = r.data;
  }
  const r = await api("GET", `${topicUrl(view)}/messages?thread=${rootId}&limit=${THREAD_PAGE}`);
  if (!panel || panel.root !== rootId) return;
  if (r.ok) {
    for (const m of r.data.results || []) keepReply(m);
    panel.next = r.data.next;
  } else {
    error.textContent = r.error.detail;
  }
  renderPanel();
  if ("IntersectionObserver" in window) {  // scrolling back to the top loads the earlier replies
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) loadEarlierReplies();
    }, {root: list, rootMargin: "100px 0px 0px 0px"});
    observer.observe(earlier);
    panel.observer = observer;
  }
  input.focus();
}

/** A reply into the open panel, unless the panel already has a newer state of it (a frame that came
 * while the page of replies was being read, or an older frame arriving late: message_state.js). */
function keepReply(m) {
  const next = merged(panel.replies.get(m.id), m);
  if (next) panel.replies.set(m.id, next);
  return Boolean(next);
}

function addReply(m) {
  if (!panel || m.thread_root !== panel.root) return;
  if (keepReply(m)) renderPanel();
}

// --- the "Threads" button: threads I took part in, with their unread replies --------------------------

async function refreshThreadsButton(view) {
  const button = $("#threads-button");
  if (!button) return;
  const r = await api("GET", `${topicUrl(view)}/threads`);
  if (!r.ok) return;
  const threads = r.data.results || [];
  button.threads = threads;
  const unread = threads.reduce((n, t) => n + t.unread, 0);
  // The icon shows on a phone only, where the words are visually hidden (still the button's name).
  button.replaceChildren(icon("forum", 16, "phone-only"), el("span", {class: "tool-label"}, gettext("Threads")));
  if (unread) {
    button.append(" ", el("span", {class: "badge", "aria-label": fmt(ngettext("%(n)s unread reply",
      "%(n)s unread replies", unread), {n: unread})}, String(unread)));
  }
}

function showThreadList(view, button) {
  const old = $("#threads-list");
  if (old) { old.remove(); button.setAttribute("aria-expanded", "false"); return; }
  const threads = button.threads || [];
  const list = el("ul", {class: "threads-list popover", id: "threads-list"});
  for (const t of threads) {
    const text = (t.root.body || "").slice(0, 80);
    list.append(el("li", {}, el("button", {type: "button", class: "link-button", onclick: () => {
      list.remove(); openThread(view, t.root.id);
    }}, `${personName(t.root.author)}: ${text}`), " ",
    t.unread ? el("span", {class: "badge"}, String(t.unread)) : null));
  }
  if (!threads.length) list.append(el("li", {class: "muted"}, gettext("You have not taken part in a thread here yet.")));
  button.after(list);
  button.setAttribute("aria-expanded", "true");
}

function installHeader(view) {
  const head = view.root && view.root.querySelector(".chat-head");
  if (!head || $("#threads-button")) return;
  const tools = head.querySelector(".chat-tools") || el("div", {class: "chat-tools"});
  if (!tools.isConnected) head.append(tools);
  const button = el("button", {type: "button", id: "threads-button", class: "secondary", "aria-expanded": "false"},
    icon("forum", 16, "phone-only"), el("span", {class: "tool-label"}, gettext("Threads")));
  button.addEventListener("click", () => showThreadList(view, button));
  const info = tools.querySelector("#topic-info-toggle"); // the phone's "About this topic" stays last
  if (info) info.before(button);
  else tools.append(button);
  refreshThreadsButton(view);
}

/** An address naming a reply (#m-ID, e.g. from a notification) opens its thread. */
async function openLinkedReply(view) {
  const match = window.location.hash.match(/^#m-(\d+)$/);
  if (!match || view.nodes.get(Number(match[1]))) return;
  const r = await api("GET", `${topicUrl(view)}/messages/${match[1]}`);
  if (r.ok && r.data.thread_root) openThread(view, r.data.thread_root);
}

// The topic view is made before the socket frames arrive; wait for it once.
(function whenViewReady(tries = 0) {
  const view = window.hubTopic;
  if (view && view.root) {
    installHeader(view);
    setTimeout(() => openLinkedReply(view), 500);
    window.addEventListener("hashchange", () => openLinkedReply(view));
    document.addEventListener("visibilitychange", markThreadRead);
    return;
  }
  if (tries < 100 && document.body.dataset.page === "topic") setTimeout(() => whenViewReady(tries + 1), 50);
})();

// --- actions, parts and frames ---------------------------------------------------------------------------

registerMessageAction({
  id: "reply-thread",
  label: () => gettext("Reply in thread"),
  icon: "reply",
  order: 15,
  quick: true,
  when: (m, ctx) => !ctx.deleted,
  run: (m, ctx) => openThread(ctx.view, m.thread_root || m.id),
});

registerMessagePart({
  id: "thread-summary",
  order: 20,
  render: (m, ctx) => {
    if (m.thread_root && m.also_channel) {
      return el("p", {class: "thread-summary muted"}, el("button", {type: "button", class: "link-button",
        onclick: () => openThread(ctx.view, m.thread_root)}, gettext("Replied in a thread")));
    }
    if (!m.reply_count) return null;
    return el("p", {class: "thread-summary"},
      el("button", {type: "button", class: "link-button thread-open", dataset: {testid: "thread-summary"},
        onclick: () => openThread(ctx.view, m.id)}, icon("reply", 14), " ",
      fmt(ngettext("%(n)s reply", "%(n)s replies", m.reply_count), {n: m.reply_count})),
      m.last_reply_at ? el("span", {class: "muted"}, " · ", gettext("last reply"), " ", timeEl(m.last_reply_at)) : null);
  },
});

onTopicFrame("thread.reply", (frame, view) => {
  addReply(frame.message);
  if (frame.live && !(panel && panel.root === frame.message.thread_root)) refreshThreadsButton(view);
});

onTopicFrame("thread.updated", (frame, view) => {
  const root = view.messages.get(frame.root);
  // A count only grows: replies committed at once through two processes may announce their counts
  // out of order (docs/chat.md, "Known limits"), and the older must not overwrite the newer.
  if (!root || (root.reply_count || 0) > frame.reply_count) return;
  view.upsert({...root, reply_count: frame.reply_count, last_reply_at: frame.last_reply_at}, {replace: true});
});

// A message no longer mine to see (chat.js `withdraw`): a reply leaves the panel; when it is the
// open thread's root, the whole thread has gone from me: the panel closes, saying why.
// The "Threads" list is read again when it names the withdrawn root (a sync may name many ids the
// page never had: those cost nothing).
onTopicFrame("message.withdrawn", (frame, view) => {
  if (panel && frame.id === panel.root) {
    closeThread();
    view.say(gettext("This message is no longer visible to you."));
  } else if (panel && panel.replies.delete(frame.id)) {
    renderPanel({keepPlace: true});
  }
  const button = $("#threads-button");
  if (button && (button.threads || []).some((t) => t.root && t.root.id === frame.id)) refreshThreadsButton(view);
});

onTopicFrame("message.reactions", (frame) => {
  if (panel && panel.replies.has(frame.id)) {
    const next = withReactions(panel.replies.get(frame.id), frame);
    if (next) { panel.replies.set(frame.id, next); renderPanel(); }
  } else if (panel && frame.id === panel.root) {
    renderPanel();
  }
});
