// A request's story (issue 23): ONE timeline of its comments (public and internal, each marked), its
// changes (status, priority, assignment, SLA notices, merges, splits, links — each a sentence in the
// viewer's language, written by the server: requests/history.py) and its files, oldest first.
//
// Everything comes from the request's detail (GET /api/v1/tickets/{id}), which holds only what the
// viewer may read (requests.api._readable_items: internal notes for their centre only, narrowed
// comments and files for their readers); this module only merges and draws. A history line about a
// comment is the comment itself here, a file on a comment is shown in that comment.

import {tlpLabel} from "./tlp.js";
import {centreCode, el, fmt, gettext, label, personName, setHtml, timeEl} from "./util.js";

/** The comments, changes and loose files of `k`, in time order (a change before a comment written
 * at the same moment: "accepted" then its first reply). Each entry: {type, at, item}. */
export function timelineEntries(k) {
  const entries = [];
  const comments = k.comments || [];
  for (const c of comments) entries.push({type: "comment", at: c.created_at, item: c, rank: 1});
  const files = new Map((k.attachments || []).map((a) => [a.id, a]));
  for (const h of (k.history || k.events || [])) {
    const after = (h.after && typeof h.after === "object") ? h.after : {};
    if (h.kind === "comment") continue;  // the comment itself is in the timeline
    if (h.kind === "attachment") {
      const file = files.get(after.attachment);
      if (file && file.comment) continue;  // shown in its comment
      entries.push({type: "attachment", at: h.created_at, item: h, file, rank: 2});
      continue;
    }
    entries.push({type: "change", at: h.created_at, item: h, rank: 0});
  }
  entries.sort((a, b) => (Date.parse(a.at) - Date.parse(b.at)) || (a.rank - b.rank) || ((a.item.id || 0) - (b.item.id || 0)));
  return entries;
}

function fileLink(a) {
  return el("span", {class: "file"}, el("a", {href: a.url || a.download_url || "#", class: "file-link"}, a.name || a.filename),
    a.size ? ` (${a.size} B)` : "", " ", tlpLabel(a.tlp));
}

/** The sentence, with the request or alert it names made a link (when the viewer may read it: the
 * server leaves out lines naming what they may not). */
function sentence(h) {
  const text = h.text || `${personName(h.actor) || gettext("The hub")} ${label(h.kind || "")}`;
  const about = (h.after && typeof h.after === "object") ? h.after : ((h.before && typeof h.before === "object") ? h.before : {});
  let name = null;
  let href = null;
  if (about.reference && about.ticket) { name = about.reference; href = `/tickets/${about.ticket}/`; }
  else if (about.split_from && about.split_from.reference) { name = about.split_from.reference; href = `/tickets/${about.split_from.ticket}/`; }
  else if (about.alert) { name = fmt(gettext("alert #%(id)s"), {id: about.alert}); href = `/alerts/${about.alert}/`; }
  const at = name ? text.indexOf(name) : -1;
  if (at < 0) return [text];
  return [text.slice(0, at), el("a", {href}, name), text.slice(at + name.length)];
}

function commentEntry(c, choosable) {
  const body = el("div", {class: "rendered"});
  setHtml(body, c.html || c.body_html || "");
  const choose = choosable
    ? el("label", {class: "check split-choice"}, el("input", {type: "checkbox", class: "split-pick", value: String(c.id)}),
      " ", gettext("choose"))
    : "";
  const files = (c.attachments || []).length
    ? el("ul", {class: "plain-list comment-files"}, ...c.attachments.map((a) => el("li", {}, fileLink(a)))) : "";
  return el("li", {class: c.internal ? "entry comment internal" : "entry comment", id: `comment-${c.id}`,
    dataset: {commentId: String(c.id), at: c.created_at}},
  el("div", {class: "msg-head"}, el("strong", {}, personName(c.author)), " ",
    el("span", {class: "centre-tag"}, centreCode(c.author && c.author.centre)), " ", timeEl(c.created_at), " ",
    c.internal ? el("span", {class: "tag internal-tag"}, gettext("internal note")) : el("span", {class: "tag public-tag"}, gettext("public")),
    " ", tlpLabel(c.tlp, {scope: Array.isArray(c.shared_with) ? c.shared_with : null}), " ", choose), body, files);
}

function changeEntry(h, file) {
  const classes = ["entry", file ? "attachment" : "change", h.internal ? "internal" : "", h.kind || ""].filter(Boolean);
  return el("li", {class: classes.join(" "), dataset: {kind: h.kind || "", at: h.created_at || ""}},
    timeEl(h.created_at), " ", el("span", {class: "sentence"}, ...sentence(h)),
    h.internal ? [" ", el("span", {class: "tag internal-tag"}, gettext("internal"))] : "",
    file ? [" ", fileLink(file)] : "");
}

/** Draw the timeline of `k` into `list` (an <ol>); comments get a "choose" box when `splittable`. */
export function renderTimeline(list, k, {splittable = false} = {}) {
  const nodes = timelineEntries(k).map((e) => (e.type === "comment"
    ? commentEntry(e.item, splittable && !e.item.internal)
    : changeEntry(e.item, e.type === "attachment" ? e.file : null)));
  if (!nodes.length) nodes.push(el("li", {class: "muted"}, gettext("Nothing has happened yet.")));
  list.replaceChildren(...nodes);
}

/** A duplicate's items shown with the request it was merged into: the same timeline, read-only. */
export function mergedTimeline(m) {
  const list = el("ol", {class: "timeline"});
  renderTimeline(list, m);
  return list;
}
