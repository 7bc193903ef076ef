// The chat's own message actions: quote, copy link, edit and delete (own messages).

import {registerMessageAction} from "../message_actions.js";
import {confirmDialog, copyText, fmt, gettext, personName} from "../util.js";

/** Markdown-escape a name so "A*B" or "[x]" in a display name stays text in the quote's line. */
function escapeMarkdown(text) {
  return String(text).replace(/[\\`*_{}[\]()#+\-.!|>~<]/g, "\\$&");
}

/** "> **Name** [wrote](/topics/…/#m-ID):" and the message's source, each line quoted, then an empty
 * line. The link is relative, so it stays in the tab (hub.lib.rendering opens only foreign links in a new one). */
export function quoteOf(message, permalink) {
  const name = escapeMarkdown(personName(message.author) || "");
  const head = fmt(gettext("**%(name)s** [wrote](%(link)s):"), {name, link: permalink});
  const lines = String(message.body || "").replace(/\s+$/, "").split("\n").map((l) => (l ? `> ${l}` : ">"));
  return `> ${head}\n${lines.join("\n")}\n\n`;
}

registerMessageAction({
  id: "quote",
  label: () => gettext("Quote and reply"),
  icon: "quote",
  order: 10,
  quick: true,
  when: (m, ctx) => !ctx.deleted && Boolean(m.body),
  run: (m, ctx) => ctx.insertIntoComposer(quoteOf(m, ctx.path)),
});

registerMessageAction({
  id: "copy-link",
  label: () => gettext("Copy link to message"),
  icon: "link",
  order: 20,
  quick: true,
  when: (m, ctx) => !ctx.deleted,
  run: async (m, ctx) => {
    if (await copyText(ctx.permalink)) ctx.say(gettext("Link copied."));
    else ctx.fail(fmt(gettext("Copy this link: %(link)s"), {link: ctx.permalink}));
  },
});

registerMessageAction({
  id: "edit",
  label: () => gettext("Edit"),
  icon: "edit",
  order: 30,
  quick: true,
  when: (m, ctx) => ctx.mine && !ctx.deleted,
  run: (m, ctx) => ctx.view.startEdit(m.id),
});

registerMessageAction({
  id: "delete",
  label: () => gettext("Delete"),
  icon: "trash",
  order: 90,
  danger: true,
  when: (m, ctx) => ctx.mine && !ctx.deleted,
  run: async (m, ctx) => {
    const yes = await confirmDialog(gettext("Delete this message? Everyone in the topic will see that it was deleted."),
      gettext("Delete"));
    if (yes) await ctx.view.deleteMessage(m.id);
  },
});
