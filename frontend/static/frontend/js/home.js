// Home: topics with unread badges, open alerts, and the requests of the viewer's centre.

import {$, api, el, fmt, label, me, gettext} from "./util.js";
import {lastAwaiting, since} from "./notifications.js";
import {renderTopicList} from "./chat.js";

function resultsOf(data) {
  if (Array.isArray(data)) return data;
  return (data && Array.isArray(data.results)) ? data.results : [];
}

async function fillList(ul, url, render) {
  const r = await api("GET", url);
  ul.replaceChildren();
  if (!r.ok) { ul.append(el("li", {class: "muted"}, r.error.detail)); return; }
  const items = resultsOf(r.data);
  for (const item of items) ul.append(render(item));
  if (!items.length) ul.append(el("li", {class: "muted"}, gettext("Nothing here.")));
}

function renderAwaitingBlock(alerts) {
  const section = $("#home-awaiting-section");
  const ul = $("#home-awaiting");
  if (!section || !ul) return;
  ul.replaceChildren();
  for (const a of alerts) {
    ul.append(el("li", {}, el("span", {class: `tag severity-${a.severity}`}, label(a.severity)), " ",
      el("a", {href: `/alerts/${a.id}/`}, a.title), " ",
      el("span", {class: "muted"}, fmt(gettext("raised %(ago)s"), {ago: since(a.created_at)}))));
  }
  if (!alerts.length) ul.append(el("li", {class: "muted"}, gettext("Your centre has acknowledged every open alert.")));
  section.classList.toggle("attention", alerts.length > 0);
}

export function startHome() {
  const user = me();
  const refreshTopics = () => renderTopicList($("#topic-list"));
  refreshTopics();
  window.addEventListener("focus", refreshTopics);
  const loadAlerts = () => fillList($("#home-alerts"), "/api/v1/alerts?status=open&limit=5", (a) =>
    el("li", {}, el("span", {class: `tag severity-${a.severity}`}, label(a.severity)), " ",
      el("a", {href: `/alerts/${a.id}/`}, a.title)));
  const loadTickets = () => fillList($("#home-tickets"),
    `/api/v1/tickets?centre=${encodeURIComponent(user.centre || "")}&limit=5`, (k) =>
      el("li", {}, el("a", {href: `/tickets/${k.id}/`}, `${k.reference || "#" + k.id} ${k.title}`), " ",
        el("span", {class: "muted"}, label(k.status))));
  loadAlerts();
  loadTickets();
  document.addEventListener("hub:alert", loadAlerts);
  document.addEventListener("hub:ticket", loadTickets);
  // One this person may no longer see (its marking tightened) leaves the cards too.
  document.addEventListener("hub:alert-withdrawn", loadAlerts);
  document.addEventListener("hub:ticket-withdrawn", loadTickets);
  document.addEventListener("hub:reconnected", () => { loadAlerts(); loadTickets(); refreshTopics(); });
  // The alerts waiting for my centre (notifications.js loads them for the banner and the bell).
  document.addEventListener("hub:awaiting", (e) => renderAwaitingBlock(e.detail));
  if (lastAwaiting()) renderAwaitingBlock(lastAwaiting());
  const board = $("#duty-board");
  if (board) import("./duty.js").then((m) => { m.startDutyBoard(board); m.startMyDuty($("#my-duty")); });
}
