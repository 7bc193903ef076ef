// Under a request's comments: whether the other centre has seen the latest public comment
// (GET /api/v1/tickets/{id}/seen, requests/seen.py), with who saw it on hover. Live: the
// `ticket.seen` frame (someone of the other centre has just read the request) redraws the line.

import {$, api, el, fmt, gettext} from "./util.js";
import {dayOf, timeOf} from "./calendar_view.js";

let listening = null;

function draw(d) {
  const list = $("#ticket-timeline");
  if (!list) return;
  let line = $("#comment-seen");
  if (!line) {
    line = el("p", {id: "comment-seen", class: "muted comment-seen", dataset: {testid: "comment-seen"}});
    list.after(line);
  }
  if (!d || !d.comment || !d.other_centre) { line.hidden = true; return; }
  line.hidden = false;
  line.dataset.seen = String(d.seen);
  line.textContent = d.seen
    ? fmt(gettext("%(centre)s has seen the latest comment (%(time)s)."), {centre: d.other_centre,
      time: `${timeOf(d.seen_at)} ${dayOf(d.seen_at).slice(8, 10)}/${dayOf(d.seen_at).slice(5, 7)}`})
    : fmt(gettext("%(centre)s has not seen the latest comment yet."), {centre: d.other_centre});
  line.title = d.seen_by.join(", ");
}

export async function showCommentSeen(ticketId) {
  if (!$("#ticket-timeline")) return;
  if (listening !== ticketId) {
    listening = ticketId;
    document.addEventListener("hub:ticket-seen", (e) => {
      // The frame's answer is the server's, for this request's readers: draw it as it is.
      if (e.detail && Number(e.detail.ticket) === Number(ticketId)) draw(e.detail.seen);
    });
  }
  const r = await api("GET", `/api/v1/tickets/${ticketId}/seen`);
  draw(r.ok ? r.data : null);
}
