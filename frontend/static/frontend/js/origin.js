// What an alert or a request quotes when it was promoted from a conversation (chat.promotion), or
// where an imported alert came from: one rendering for the alert page, the request page and the
// promotion dialog.

import {tlpLabel} from "./tlp.js";
import {el, fmt, gettext, personName, setHtml, timeEl} from "./util.js";

/** The quoted messages: author, centre, time (a link to the message), marking and text — or, for one
 * the reader may not read (or deleted), only the server's placeholder (chat.promotion.promoted_from). */
export function quotedMessages(messages) {
  return el("ol", {class: "promotion-quotes"}, (messages || []).map((q) => {
    if (q.readable === false) return el("li", {class: "promotion-quote-hidden"}, el("em", {class: "muted"}, q.placeholder));
    const body = el("div", {class: "rendered"});
    if (q.html) setHtml(body, q.html); else body.append(el("em", {class: "muted"}, gettext("(text left out)")));
    const when = q.url ? el("a", {href: q.url}, timeEl(q.created_at)) : timeEl(q.created_at);
    return el("li", {}, el("div", {class: "msg-head"}, el("strong", {}, personName(q.author)), " ",
      el("span", {class: "centre-tag"}, q.centre || "—"), " ", when, " ", q.tlp ? tlpLabel(q.tlp) : ""), body);
  }));
}

/** Fill `box` with the item's `promoted_from` (hidden when there is none). */
export function renderOrigin(box, origin) {
  box.hidden = !origin;
  if (!origin) return;
  if (origin.kind === "stix") {
    box.replaceChildren(el("p", {}, fmt(gettext("Imported from a STIX bundle (%(source)s)."),
      {source: origin.source || origin.bundle})));
    return;
  }
  const topic = origin.topic || {};
  const en = (document.documentElement.lang || "vi").startsWith("en");
  const where = (en ? topic.name_en : topic.name_vi) || topic.slug;
  box.replaceChildren(
    el("p", {}, where ? fmt(gettext("Promoted from %(topic)s by %(who)s"), {topic: where, who: personName(origin.promoted_by)})
      : fmt(gettext("Promoted from a conversation by %(who)s"), {who: personName(origin.promoted_by)}), " ", timeEl(origin.promoted_at)),
    quotedMessages(origin.messages));
}
