// Home: topics with unread badges, open alerts, and the requests of the viewer's centre.

import {$, api, el, label, me, gettext} from "./util.js";
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
  const board = $("#duty-board");
  if (board) import("./duty.js").then((m) => m.startDutyBoard(board));
}
