// A request's service level (the `sla` object of a ticket, docs/tickets.md "Service levels"): both
// due times in local time (Asia/Ho_Chi_Minh), the working time left, paused and why. Used by the
// request page (its "Service level" card) and the list (the due column).

import {el, fmt, gettext} from "./util.js";

const TIME_ZONE = "Asia/Ho_Chi_Minh";

/** A due time as a <time>, in the centres' local time whatever the browser's zone. */
export function localTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const lang = document.documentElement.lang || "vi";
  const text = Number.isNaN(d.getTime()) ? iso : d.toLocaleString(lang, {
    timeZone: TIME_ZONE, weekday: "short", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit",
  });
  return el("time", {datetime: iso, title: iso}, text);
}

/** Working minutes as "3 h 05 min" (never days: a working day differs between centres). */
export function workingTime(minutes) {
  const total = Math.abs(Math.trunc(minutes));
  const h = Math.floor(total / 60);
  const m = total % 60;
  if (!h) return fmt(gettext("%(m)s min"), {m});
  return fmt(gettext("%(h)s h %(m)s min"), {h, m: String(m).padStart(2, "0")});
}

function tag(cls, text) {
  return el("span", {class: `tag ${cls}`}, text);
}

function left(minutes) {
  return minutes >= 0
    ? fmt(gettext("%(time)s of working time left"), {time: workingTime(minutes)})
    : fmt(gettext("overdue by %(time)s of working time"), {time: workingTime(minutes)});
}

function firstResponse(s) {
  const due = s.first_response_due ? [gettext("due"), " ", localTime(s.first_response_due)] : [];
  if (s.first_response_at) {
    return [...due, " — ", gettext("answered"), " ", localTime(s.first_response_at), " ",
      s.first_response_breached ? tag("sla-breached", gettext("late")) : tag("sla-met", gettext("on time"))];
  }
  if (s.first_response_remaining_minutes === null || s.first_response_remaining_minutes === undefined) return due;
  return [...due, " — ", left(s.first_response_remaining_minutes),
    s.first_response_breached ? [" ", tag("sla-breached", gettext("breached"))] : ""].flat();
}

function resolution(s) {
  const due = [gettext("due"), " ", localTime(s.resolution_due)];
  if (s.state === "paused") {
    return [...due, " — ", tag("sla-paused", gettext("paused")), " ", gettext("since"), " ", localTime(s.paused_since),
      ": ", gettext("waiting for the requester's answer."), " ",
      fmt(gettext("%(time)s of working time left when it resumes (the due time moves on meanwhile)."),
        {time: workingTime(s.resolution_remaining_minutes || 0)})];
  }
  if (s.state === "stopped") {
    return [...due, " — ", gettext("stopped"), " ",
      s.resolution_breached ? tag("sla-breached", gettext("late")) : tag("sla-met", gettext("on time"))];
  }
  return [...due, " — ", left(s.resolution_remaining_minutes || 0),
    s.resolution_breached ? [" ", tag("sla-breached", gettext("breached"))] : ""].flat();
}

/** The request page's card. */
export function renderSla(container, k) {
  const s = k && k.sla;
  container.hidden = !s;
  if (!s) return;
  const body = container.querySelector(".sla-body") || container;
  const state = [];
  if (s.breached) state.push(tag("sla-breached", gettext("SLA breached")));
  else if (s.due_soon) state.push(tag("sla-soon", gettext("due soon")));
  if (s.paused) state.push(" ", tag("sla-paused", gettext("paused: waiting for the requester")));
  body.replaceChildren(
    el("p", {class: "sla-state"}, ...state),
    el("dl", {class: "sla-clocks"},
      el("dt", {}, gettext("First response")), el("dd", {dataset: {clock: "first_response"}}, ...firstResponse(s)),
      el("dt", {}, gettext("Resolution")), el("dd", {dataset: {clock: "resolution"}}, ...resolution(s))),
    el("p", {class: "muted"}, fmt(gettext("Counted in working time of %(centre)s: office hours, public holidays and make-up days; targets %(first)s and %(resolution)s."), {
      centre: k.target_centre || gettext("the hub's default calendar"),
      first: workingTime(s.first_response_target_minutes), resolution: workingTime(s.resolution_target_minutes),
    })));
}

/** The list's due cell: the resolution due time (or the first response's while unanswered and
 * earlier), with its state. */
export function slaCell(k) {
  const s = k.sla;
  if (!s) return [k.due_at ? localTime(k.due_at) : ""];
  const answered = s.first_response_at || s.first_response_remaining_minutes === null;
  const due = !answered && s.first_response_due && s.first_response_due < s.resolution_due
    ? s.first_response_due : s.resolution_due;
  const parts = [localTime(due)];
  if (s.breached && k.overdue) parts.push(" ", tag("overdue-tag sla-breached", gettext("overdue")));
  else if (s.due_soon) parts.push(" ", tag("sla-soon", gettext("due soon")));
  if (s.paused) parts.push(" ", tag("sla-paused", gettext("paused")));
  return parts;
}
