// Direct and group conversations (issue 26 §1, docs/chat.md "Direct conversations"): the
// "Direct messages" list on the home page and in the topic sidebar, the "New conversation" picker,
// and on a conversation's page its members with "Add people" and "Leave".
//
// A conversation is a topic of kind "direct": its page, socket and messages are the topic page's.

import {$, api, centreCode, confirmDialog, el, fmt, gettext, me, ngettext, personName} from "./util.js";
import {onTopicFrame} from "./message_actions.js";

const MAX_MEMBERS = 10;

function resultsOf(data) {
  return (data && Array.isArray(data.results)) ? data.results : [];
}

/** What a conversation is called for me: the other members' names. */
export function conversationName(topic, user = me()) {
  const others = (topic.members || []).filter((m) => m.username !== user.username);
  return others.map((m) => personName(m)).join(", ") || gettext("Only you");
}

/** The "Direct messages" list with unread badges. */
export async function renderDirectList(ul, currentSlug = null) {
  if (!ul) return;
  const r = await api("GET", "/api/v1/topics?kind=direct");
  if (!r.ok) { ul.replaceChildren(el("li", {class: "error"}, r.error.detail)); return; }
  ul.replaceChildren();
  for (const topic of resultsOf(r.data)) {
    const unread = topic.slug === currentSlug ? 0 : (topic.unread || 0);
    const link = el("a", {href: `/topics/${encodeURIComponent(topic.slug)}/`,
      "aria-current": topic.slug === currentSlug ? "page" : null}, conversationName(topic));
    if (unread) {
      link.append(" ", el("span", {class: "badge",
        "aria-label": fmt(ngettext("%(n)s unread message", "%(n)s unread messages", unread), {n: unread})}, String(unread)));
    }
    ul.append(el("li", {dataset: {slug: topic.slug}}, link));
  }
  if (!ul.children.length) ul.append(el("li", {class: "muted"}, gettext("No conversations yet.")));
}

/**
 * A dialog to pick people of any centre (search by name, username or centre code).
 * Resolves with the chosen usernames, or null when cancelled.
 */
export function pickPeople({title, confirmLabel, max = MAX_MEMBERS - 1, exclude = [], extra = null}) {
  return new Promise((resolve) => {
    const chosen = new Map();
    const search = el("input", {type: "search", id: "people-q", autocomplete: "off",
      placeholder: gettext("Name, username or centre"), "aria-label": gettext("Find people")});
    const results = el("ul", {class: "people-results", role: "listbox", "aria-label": gettext("People"),
      "aria-multiselectable": "true", dataset: {testid: "people-results"}});
    const picked = el("p", {class: "people-picked muted", "aria-live": "polite"});
    const error = el("p", {class: "error", role: "alert"});
    const ok = el("button", {type: "submit", value: "yes", class: "primary", disabled: true}, confirmLabel);
    const id = `pick-${Date.now()}`;
    const dialog = el("dialog", {class: "people-dialog", "aria-labelledby": id},
      el("form", {method: "dialog"},
        el("h2", {id}, title), search, results, picked, extra, error,
        el("div", {class: "dialog-actions"},
          el("button", {type: "submit", value: "no", class: "secondary"}, gettext("Cancel")), ok)));
    const showPicked = () => {
      picked.textContent = chosen.size
        ? fmt(gettext("Chosen: %(names)s"), {names: Array.from(chosen.values(), personName).join(", ")})
        : gettext("Nobody chosen yet.");
      ok.disabled = chosen.size === 0;
    };
    const render = (people) => {
      results.replaceChildren();
      for (const p of people.filter((x) => !exclude.includes(x.username))) {
        const box = el("input", {type: "checkbox", id: `pick-${p.username}`, checked: chosen.has(p.username)});
        box.addEventListener("change", () => {
          if (box.checked) {
            if (chosen.size >= max) {
              box.checked = false;
              error.textContent = fmt(gettext("A conversation has at most %(n)s members."), {n: MAX_MEMBERS});
              return;
            }
            chosen.set(p.username, p);
          } else {
            chosen.delete(p.username);
          }
          error.textContent = "";
          showPicked();
        });
        results.append(el("li", {role: "option", dataset: {username: p.username}},
          box, " ", el("label", {for: `pick-${p.username}`}, personName(p), " ",
            el("span", {class: "centre-tag"}, centreCode(p.centre) || "—"))));
      }
      if (!results.children.length) results.append(el("li", {class: "muted"}, gettext("Nobody found.")));
    };
    let timer = null;
    const find = async () => {
      const r = await api("GET", `/api/v1/conversations/people?q=${encodeURIComponent(search.value.trim())}`);
      if (r.ok) render(resultsOf(r.data)); else error.textContent = r.error.detail;
    };
    search.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(find, 200); });
    search.addEventListener("keydown", (e) => { if (e.key === "Enter") e.preventDefault(); });
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "yes" ? Array.from(chosen.keys()) : null);
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
    showPicked();
    find();
    search.focus();
  });
}

async function newConversation() {
  const members = await pickPeople({title: gettext("New conversation"), confirmLabel: gettext("Start")});
  if (!members) return;
  const r = await api("POST", "/api/v1/conversations", {members});
  if (r.ok) window.location.assign(`/topics/${encodeURIComponent(r.data.slug)}/`);
  else window.alert(r.error.detail);
}

/** On a conversation's page: its members, "Add people" and "Leave" under the title. */
async function conversationHeader(root) {
  const slug = root.dataset.slug;
  const box = el("div", {class: "conversation-members", dataset: {testid: "conversation-members"}});
  const head = $(".chat-head", root);
  if (!head) return;
  // With the conversation's information (behind "About this conversation" on a phone), after the
  // read-state switch (receipts.js puts it first), else under the title.
  const info = $("#topic-info", root);
  if (info) info.append(box);
  else head.after(box);
  const show = (topic) => {
    const names = (topic.members || []).map((m) => `${personName(m)} (${centreCode(m.centre) || "—"})`);
    $("#h-topic").textContent = conversationName(topic);
    document.title = conversationName(topic);
    box.replaceChildren(
      el("span", {class: "muted"}, fmt(gettext("Members: %(names)s"), {names: names.join(", ")})), " ",
      el("button", {type: "button", class: "secondary", id: "add-people", onclick: () => addPeople(topic)},
        gettext("Add people")), " ",
      el("button", {type: "button", class: "secondary", id: "leave-conversation", onclick: () => leave()},
        gettext("Leave")));
  };
  const addPeople = async (topic) => {
    const have = (topic.members || []).map((m) => m.username);
    // Who reads the past (docs/chat.md, "Who reads the history"): from now on unless the adder
    // chooses otherwise, and the dialog says which it will be.
    const history = el("input", {type: "checkbox", id: "add-history"});
    const notice = el("p", {class: "history-notice", id: "add-history-notice", "aria-live": "polite"});
    const explain = () => {
      notice.textContent = history.checked
        ? gettext("They will read the whole conversation so far (as much of it as you read), and what comes next.")
        : gettext("They will read only what is written from now on; the earlier messages stay hidden from them.");
    };
    history.addEventListener("change", explain);
    explain();
    const extra = el("div", {class: "history-choice"},
      el("label", {for: "add-history"}, history, " ", gettext("Show them the earlier messages")), notice);
    const usernames = await pickPeople({title: gettext("Add people"), confirmLabel: gettext("Add"),
      max: MAX_MEMBERS - have.length, exclude: have, extra});
    if (!usernames) return;
    const r = await api("POST", `/api/v1/topics/${encodeURIComponent(slug)}/members`,
      {usernames, history: history.checked});
    if (r.ok) show(r.data); else window.alert(r.error.detail);
  };
  const leave = async () => {
    if (!await confirmDialog(gettext("Leave this conversation? You will no longer see it."), gettext("Leave"))) return;
    const r = await api("POST", `/api/v1/topics/${encodeURIComponent(slug)}/leave`);
    if (r.ok) window.location.assign("/"); else window.alert(r.error.detail);
  };
  const r = await api("GET", `/api/v1/topics/${encodeURIComponent(slug)}`);
  if (r.ok) {
    show(r.data);
    if (r.data.history_after) {  // I was added without the earlier messages
      box.after(el("p", {class: "history-notice muted", id: "history-hidden-notice"},
        gettext("You were added to this conversation later: the messages from before you came are not shown to you.")));
    }
  }
  document.addEventListener("hub:members", (e) => { if (e.detail && e.detail.topic === slug) show(e.detail); });
}

// Someone was added or left: the header follows (the `members` frame of a conversation's socket).
onTopicFrame("members", (frame) => document.dispatchEvent(new CustomEvent("hub:members", {detail: frame})));

export function startConversations() {
  const list = $("#dm-list");
  const chat = $("#chat");
  const current = chat ? chat.dataset.slug : null;
  if (list) {
    const refresh = () => renderDirectList(list, current);
    refresh();
    window.addEventListener("focus", refresh);
    setInterval(refresh, 30000);
  }
  const button = $("#new-conversation");
  if (button) button.addEventListener("click", newConversation);
  if (chat && chat.dataset.kind === "direct") conversationHeader(chat);
}
