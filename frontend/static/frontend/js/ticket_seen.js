// Under a request's comments: whether the other centre has seen the latest public comment
// (GET /api/v1/tickets/{id}/seen, requests/seen.py), with who saw it on hover.

import {$, api, el, fmt, gettext} from "./util.js";
import {dayOf, timeOf} from "./calendar_view.js";

export async function showCommentSeen(ticketId) {
  const list = $("#ticket-timeline");
  if (!list) return;
  const r = await api("GET", `/api/v1/tickets/${ticketId}/seen`);
  let line = $("#comment-seen");
  if (!line) {
    line = el("p", {id: "comment-seen", class: "muted comment-seen", dataset: {testid: "comment-seen"}});
    list.after(line);
  }
  if (!r.ok || !r.data.comment || !r.data.other_centre) { line.hidden = true; return; }
  const d = r.data;
  line.hidden = false;
  line.dataset.seen = String(d.seen);
  line.textContent = d.seen
    ? fmt(gettext("%(centre)s has seen the latest comment (%(time)s)."), {centre: d.other_centre,
      time: `${timeOf(d.seen_at)} ${dayOf(d.seen_at).slice(8, 10)}/${dayOf(d.seen_at).slice(5, 7)}`})
    : fmt(gettext("%(centre)s has not seen the latest comment yet."), {centre: d.other_centre});
  line.title = d.seen_by.join(", ");
}
