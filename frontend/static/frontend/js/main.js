// Entry point of every signed-in page: the notifications stream, then the page's own module
// (chosen by <body data-page>). Loaded as an ES module from 'self' (CSP script-src 'self').

import {startNotifications} from "./notifications.js";
import {startConversations} from "./conversations.js";
import {startLayout} from "./layout.js";
import {afterAccessReload} from "./access.js";

const PAGES = {
  home: () => import("./home.js").then((m) => m.startHome()),
  topic: () => import("./chat.js").then((m) => m.startTopic(document.getElementById("chat"))),
  search: () => import("./search.js").then((m) => m.startSearchPage()),
  alerts: () => import("./alerts.js").then((m) => m.startAlertList()),
  alert: () => import("./alerts.js").then((m) => m.startAlertDetail(document.getElementById("alert"))),
  tickets: () => import("./tickets.js").then((m) => m.startTicketList()),
  "ticket-new": () => import("./tickets.js").then((m) => m.startTicketForm()),
  events: () => import("./events.js").then((m) => m.startEvents()),
  "ticket-templates": () => import("./ticket_templates.js").then((m) => m.startTemplates()),
  duty: () => import("./duty.js").then((m) => m.startDuty()),
  "reports-dashboard": () => import("./duty.js").then((m) => m.startDutyBoard(document.getElementById("duty-board"))),
  ticket: () => import("./tickets.js").then((m) => m.startTicketDetail(document.getElementById("ticket"))),
};

function bindLanguageSwitch() {
  // Without JavaScript the "Change" button submits; with it, choosing a language is enough.
  const select = document.getElementById("lang-select");
  if (!select) return;
  select.addEventListener("change", () => select.form.requestSubmit());
  document.documentElement.classList.add("js");
}

bindLanguageSwitch();
startLayout(); // the header's menu and the topic drawer on a phone
window.hubNotifications = startNotifications();
const start = PAGES[document.body.dataset.page];
const started = start ? start() : null;
afterAccessReload(started); // reloaded because the person's rights changed: say so, restore their typing
startConversations(); // the "Direct messages" list and picker, where the page has them
