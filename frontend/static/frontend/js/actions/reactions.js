// Emoji reactions (issue 26 §3, docs/chat.md "Reactions"): under each message one button per emoji
// with its count (who reacted in its title; pressed when I did), a small default set and a picker.
// Reacting again removes the reaction. Live through the `message.reactions` frame. A reaction is
// not a message: it moves no unread count.

import {onTopicFrame, registerMessageAction, registerMessagePart} from "../message_actions.js";
import {api, el, fmt, gettext, icon} from "../util.js";
import {withReactions} from "../message_state.js";

export const DEFAULT_EMOJI = ["👍", "❤️", "😄", "🎉", "👀", "✅", "🙏"];
const MORE_EMOJI = ["👎", "😂", "😮", "😢", "😡", "🤔", "👏", "🙌", "💪", "🔥", "🚀", "💯", "⚠️", "❗", "❓", "🛡️",
  "🐛", "🔒", "📌", "📎", "⏳", "✔️", "❌", "🆗", "👌", "🤝", "☕", "🌟", "💡", "📣", "🇻🇳"];

async function toggle(m, ctx, emoji) {
  const r = await api("POST", `/api/v1/topics/${encodeURIComponent(ctx.slug)}/messages/${m.id}/reactions`, {emoji});
  if (!r.ok) { ctx.fail(r.error.detail); return; }
  const current = (ctx.view.messages && ctx.view.messages.get(m.id)) || m;
  const next = withReactions(current, r.data);  // a frame of a later toggle may have come first
  if (next) ctx.update(next);
}

function closePicker() {
  const open = document.getElementById("emoji-picker");
  if (open) open.remove();
}

/** The picker: the default set, then "More" for the rest; Escape closes. */
function openPicker(anchor, m, ctx) {
  closePicker();
  const choose = (emoji) => { closePicker(); toggle(m, ctx, emoji); };
  const button = (emoji) => el("button", {type: "button", class: "emoji-choice", "aria-label": emoji,
    onclick: () => choose(emoji)}, emoji);
  const more = el("div", {class: "emoji-more", hidden: true}, ...MORE_EMOJI.map(button));
  const picker = el("div", {class: "emoji-picker", id: "emoji-picker", role: "dialog",
    "aria-label": gettext("Add a reaction")},
  el("div", {class: "emoji-default"}, ...DEFAULT_EMOJI.map(button),
    el("button", {type: "button", class: "emoji-more-toggle", "aria-expanded": "false", onclick: (e) => {
      more.hidden = !more.hidden;
      e.currentTarget.setAttribute("aria-expanded", String(!more.hidden));
    }}, gettext("More…"))), more);
  picker.addEventListener("keydown", (e) => { if (e.key === "Escape") { closePicker(); anchor.focus(); } });
  anchor.after(picker);
  picker.querySelector("button").focus();
}

document.addEventListener("pointerdown", (e) => {
  const open = document.getElementById("emoji-picker");
  if (open && !open.contains(e.target) && !e.target.closest(".reaction-add, [data-action=react]")) closePicker();
});

registerMessagePart({
  id: "reactions",
  order: 30,
  render: (m, ctx) => {
    if (ctx.deleted) return null;
    const reactions = m.reactions || [];
    const me = ctx.user.username;
    const row = el("div", {class: "reactions", dataset: {testid: "reactions"}});
    for (const r of reactions) {
      const mine = (r.users || []).includes(me);
      row.append(el("button", {type: "button", class: `reaction${mine ? " mine" : ""}`, "aria-pressed": String(mine),
        title: (r.users || []).join(", "), dataset: {emoji: r.emoji},
        "aria-label": fmt(gettext("%(emoji)s %(n)s: %(names)s"), {emoji: r.emoji, n: r.count, names: (r.users || []).join(", ")}),
        onclick: () => toggle(m, ctx, r.emoji)}, `${r.emoji} ${r.count}`));
    }
    const add = el("button", {type: "button", class: "reaction-add", title: gettext("Add a reaction"),
      "aria-label": gettext("Add a reaction")}, icon("react", 16));
    add.addEventListener("click", () => openPicker(add, m, ctx));
    row.append(add);
    return row;
  },
});

registerMessageAction({
  id: "react",
  label: () => gettext("Add a reaction"),
  icon: "react",
  order: 12,
  quick: true,
  when: (m, ctx) => !ctx.deleted,
  run: (m, ctx) => {
    const node = ctx.view.nodes.get(m.id);
    const add = node && node.querySelector(".reaction-add");
    if (add) openPicker(add, m, ctx);
  },
});

onTopicFrame("message.reactions", (frame, view) => {
  const current = view.messages.get(frame.id);
  const next = current && withReactions(current, frame);
  if (next) view.upsert(next, {replace: true});
});
