// The caller's own stream (/ws/notifications/), on every page: the header bell with its unread
// count, full-width alert banners with an Acknowledge button, browser notifications, and DOM events
// ("hub:alert", "hub:ticket", "hub:mention") that the alert and ticket pages listen to for live
// updates, so a page never opens a second notifications socket. An alert or a request the person
// may no longer see ("alert.withdrawn", "ticket.withdrawn": its marking tightened) leaves the bell
// and the banners here, and every page that shows it ("hub:alert-withdrawn", "hub:ticket-withdrawn").

import {$, api, centreCode, el, fmt, label, me, personName, gettext} from "./util.js";
import {LiveSocket} from "./socket.js";

const KEEP = 50;

class Bell {
  constructor(user) {
    this.key = `hub.realtime.notifications.${user.username}`;
    try { this.items = JSON.parse(localStorage.getItem(this.key) || "[]"); } catch (e) { this.items = []; }
    if (!Array.isArray(this.items)) this.items = [];
    this.button = $("#bell");
    this.panel = $("#bell-panel");
    this.button.addEventListener("click", () => this.toggle());
    document.addEventListener("keydown", (e) => { if (e.key === "Escape" && !this.panel.hidden) this.toggle(false); });
    const permission = $("#notify-permission");
    if ("Notification" in window && Notification.permission === "default") {
      permission.hidden = false;
      permission.addEventListener("click", async () => {
        await Notification.requestPermission();
        permission.hidden = Notification.permission !== "default";
      });
    }
    this.render();
  }

  save() {
    try { localStorage.setItem(this.key, JSON.stringify(this.items.slice(0, KEEP))); } catch (e) { /* ignore */ }
  }

  add(item) {
    if (this.items.some((i) => i.key === item.key)) return;
    this.items.unshift({...item, read: false, at: new Date().toISOString()});
    this.items = this.items.slice(0, KEEP);
    this.save();
    this.render();
  }

  /** Drop what the bell holds about an item the person may no longer see (its page's `url`). */
  forget(url) {
    const kept = this.items.filter((i) => i.url !== url && !String(i.url || "").startsWith(`${url}#`));
    if (kept.length === this.items.length) return;
    this.items = kept;
    this.save();
    this.render();
  }

  toggle(force) {
    const open = force === undefined ? this.panel.hidden : force;
    this.panel.hidden = !open;
    this.button.setAttribute("aria-expanded", String(open));
    if (open) {
      this.render();
      for (const i of this.items) i.read = true;
      this.save();
      this.renderCount();
      // Seen in the hub: the server will not email them (the unseen rule, docs/notifications.md).
      if (this.serverUnseen) api("POST", "/api/v1/notifications/seen", {all: true}).then((r) => { if (r.ok) this.serverUnseen = 0; });
    }
  }

  /** What the server kept while no tab was open (GET /api/v1/notifications), merged in by key. */
  async loadFromServer() {
    const r = await api("GET", "/api/v1/notifications?limit=20");
    if (!r.ok || !r.data) return;
    this.serverUnseen = r.data.unseen || 0;
    const known = new Set(this.items.map((i) => i.key));
    for (const n of r.data.results.slice().reverse()) {
      const key = serverKey(n);
      if (known.has(key)) continue;
      this.items.unshift({key, text: n.text, url: n.url, read: n.seen, at: n.created_at});
    }
    this.items.sort((a, b) => String(b.at || "").localeCompare(String(a.at || "")));
    this.items = this.items.slice(0, KEEP);
    this.save();
    this.render();
  }

  renderCount() {
    // Alerts waiting for the viewer's centre count until it acknowledges, read or not (issue 23).
    const keys = new Set(this.items.filter((i) => !i.read).map((i) => i.key));
    for (const id of this.awaiting || []) keys.add(`alert-${id}-raised`);
    const unread = keys.size;
    const badge = $("#bell-count");
    badge.textContent = String(unread);
    badge.hidden = unread === 0;
    // The button's name is its own (visually hidden) text with the count, not an aria-label that
    // would differ from the visible badge (axe: label-content-name-mismatch).
    const name = document.getElementById("bell-name");
    if (name) name.textContent = unread ? fmt(gettext("Notifications (%(n)s unread)"), {n: unread}) : gettext("Notifications");
  }

  /** The alerts waiting for the viewer's centre: first in the panel, counted until acknowledged. */
  setAwaiting(alerts) {
    this.awaitingAlerts = alerts;
    this.awaiting = alerts.map((a) => a.id);
    this.render();
  }

  render() {
    const list = $("#bell-list");
    list.replaceChildren();
    for (const a of this.awaitingAlerts || []) {
      list.append(el("li", {class: "unread awaiting"}, el("a", {href: `/alerts/${a.id}/`},
        fmt(gettext("Waiting for your centre's acknowledgement: %(alert)s"), {alert: alertText(a)}))));
    }
    for (const i of this.items) {
      list.append(el("li", {class: i.read ? "" : "unread"}, el("a", {href: i.url || "#"}, i.text)));
    }
    $("#bell-empty").hidden = this.items.length + (this.awaiting || []).length > 0;
    this.renderCount();
  }
}

/** The bell's key for a stored notification: the same key its live frame gets, so each shows once. */
function serverKey(n) {
  if (n.type === "alert") return `alert-${n.alert}-raised`;
  if (n.type === "escalation") return `alert-${n.alert}-escalated`;
  if (n.type === "mention") return `mention-${n.message}`;
  if (n.type === "ticket" && n.ticket_event) return `ticket-${n.ticket}-${n.ticket_event}`;
  return `notification-${n.id}`;
}

// The person's channels (GET /api/v1/notifications/preferences): a desktop notification only for the
// kinds they want to hear of outside the page ("browser" or "email"); "hub" and "off" stay in the page.
let channels = null;
function wants(kind) {
  if (!channels) return true;
  const channel = channels[kind];
  return channel === "browser" || channel === "email";
}

function alertText(alert) {
  const who = alert.raised_by ? personName(alert.raised_by) : "";
  const centre = centreCode(alert.centre || alert.raising_centre);
  return `[${label(alert.severity).toUpperCase()}] TLP:${String(alert.tlp || "").toUpperCase()} — ${alert.title}`
    + (who || centre ? ` (${[who, centre].filter(Boolean).join(", ")})` : "");
}


/** Acknowledge for the viewer's centre; shared by the banner and the alert page. */
export async function acknowledge(alertId) {
  return api("POST", `/api/v1/alerts/${alertId}/ack`);
}

function showBanner(alert, user) {
  const box = $("#alert-banners");
  if (!box || box.querySelector(`[data-alert-id="${alert.id}"]`)) return;
  const actions = el("div", {class: "banner-actions"});
  const banner = el("section", {class: `alert-banner severity-${alert.severity}`, role: "alert",
    dataset: {alertId: String(alert.id)}, "aria-label": gettext("New security alert")},
  el("p", {class: "banner-text"}, el("strong", {}, gettext("Security alert")), " ", alertText(alert)), actions);
  actions.append(el("a", {href: `/alerts/${alert.id}/`, class: "button"}, gettext("View")));
  if (user.can_ack_alerts) {
    const status = el("span", {class: "ack-status", role: "status"});
    const button = el("button", {type: "button", class: "ack-button"}, gettext("Acknowledge"));
    button.addEventListener("click", async () => {
      button.disabled = true;
      const r = await acknowledge(alert.id);
      if (r.ok) {
        button.remove();
        status.textContent = fmt(gettext("Acknowledged for %(centre)s"), {centre: user.centre});
      } else {
        button.disabled = false;
        status.textContent = r.error.detail;
      }
    });
    actions.append(button, status);
  }
  actions.append(el("button", {type: "button", class: "link-button", onclick: () => banner.remove()}, gettext("Dismiss")));
  box.prepend(banner);
}

const COLLAPSED = "hub.awaiting.collapsed";

function collapsedSet() {
  try { return new Set(JSON.parse(sessionStorage.getItem(COLLAPSED) || "[]")); } catch (e) { return new Set(); }
}

function rememberCollapsed(id, collapsed) {
  const set = collapsedSet();
  if (collapsed) set.add(id); else set.delete(id);
  try { sessionStorage.setItem(COLLAPSED, JSON.stringify([...set])); } catch (e) { /* ignore */ }
}

/** A banner that is done (acknowledged for the viewer's centre): it says so and can be dismissed. */
function settleBanner(banner, user) {
  banner.classList.remove("awaiting", "collapsed");
  const actions = banner.querySelector(".banner-actions");
  for (const node of actions.querySelectorAll(".ack-button, .collapse-button")) node.remove();
  let status = actions.querySelector(".ack-status");
  if (!status) { status = el("span", {class: "ack-status", role: "status"}); actions.append(status); }
  status.textContent = fmt(gettext("Acknowledged for %(centre)s"), {centre: user.centre});
  if (!actions.querySelector(".dismiss-button")) {
    actions.append(el("button", {type: "button", class: "link-button dismiss-button", onclick: () => banner.remove()},
      gettext("Dismiss")));
  }
}

/**
 * Alerts waiting for the viewer's centre (GET /api/v1/alerts/awaiting-my-centre) stay on every page
 * until the centre acknowledges: a banner that can be collapsed to one line but not dismissed.
 */
function renderAwaiting(alerts, user) {
  const box = $("#alert-banners");
  if (!box) return;
  const waiting = new Set(alerts.map((a) => String(a.id)));
  for (const banner of box.querySelectorAll(".alert-banner.awaiting")) {
    if (!waiting.has(banner.dataset.alertId)) settleBanner(banner, user);  // acknowledged elsewhere
  }
  const collapsed = collapsedSet();
  for (const alert of alerts) {
    const old = box.querySelector(`.alert-banner[data-alert-id="${alert.id}"]`);
    if (old && old.classList.contains("awaiting")) continue;
    if (old) old.remove();
    const id = String(alert.id);
    const actions = el("div", {class: "banner-actions"});
    const text = el("p", {class: "banner-text", id: `banner-text-${id}`}, el("strong", {}, gettext("Waiting for your acknowledgement")), " ",
      alertText(alert), " ", el("span", {class: "banner-age"}, fmt(gettext("raised %(ago)s"), {ago: since(alert.created_at)})));
    const banner = el("section", {class: `alert-banner awaiting severity-${alert.severity}`, role: "region",
      dataset: {alertId: id}, "aria-labelledby": text.id}, text, actions);
    actions.append(el("a", {href: `/alerts/${alert.id}/`, class: "button"}, gettext("View")));
    if (user.can_ack_alerts) {
      const status = el("span", {class: "ack-status", role: "status"});
      const button = el("button", {type: "button", class: "ack-button"}, gettext("Acknowledge"));
      button.addEventListener("click", async () => {
        button.disabled = true;
        const r = await acknowledge(alert.id);
        if (r.ok) {
          settleBanner(banner, user);
          refreshAwaiting();
        } else {
          button.disabled = false;
          status.textContent = r.error.detail;
        }
      });
      actions.append(button, status);
    }
    const toggle = el("button", {type: "button", class: "link-button collapse-button", "aria-expanded": "true",
      "aria-controls": text.id});
    const setCollapsed = (on) => {
      banner.classList.toggle("collapsed", on);
      toggle.setAttribute("aria-expanded", String(!on));
      toggle.textContent = on ? gettext("Expand") : gettext("Collapse");
    };
    toggle.addEventListener("click", () => {
      const on = !banner.classList.contains("collapsed");
      setCollapsed(on);
      rememberCollapsed(id, on);
    });
    setCollapsed(collapsed.has(id));
    actions.append(toggle);
    box.append(banner);
  }
}

/** "5 minutes ago"-style text for a timestamp, in the page's language. */
export function since(iso) {
  const seconds = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  const lang = document.documentElement.lang || "vi";
  const rtf = new Intl.RelativeTimeFormat(lang, {numeric: "auto"});
  if (seconds < 60) return rtf.format(-Math.round(seconds), "second");
  if (seconds < 3600) return rtf.format(-Math.round(seconds / 60), "minute");
  if (seconds < 86400) return rtf.format(-Math.round(seconds / 3600), "hour");
  return rtf.format(-Math.round(seconds / 86400), "day");
}

let refreshAwaiting = () => {};
let awaitingNow = null;

/** The last list of alerts waiting for the viewer's centre (null until loaded); "hub:awaiting" follows. */
export function lastAwaiting() {
  return awaitingNow;
}

function browserNotify(title, body, url) {
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  try {
    const n = new Notification(title, {body, tag: url});
    n.onclick = () => { window.focus(); window.location.href = url; };
  } catch (e) { /* some browsers only allow notifications from a service worker */ }
}

const STATE_TEXT = () => ({
  connecting: gettext("Connecting…"),
  live: gettext("Live"),
  reconnecting: gettext("Reconnecting…"),
  offline: gettext("Offline"),
  closed: gettext("Disconnected."),
});

export function startNotifications() {
  const user = me();
  if (!user || !$("#bell")) return null;
  const bell = new Bell(user);
  bell.loadFromServer();
  let awaitingTimer = null;
  refreshAwaiting = () => {
    clearTimeout(awaitingTimer);
    awaitingTimer = setTimeout(async () => {
      const r = await api("GET", "/api/v1/alerts/awaiting-my-centre");
      if (!r.ok || !Array.isArray(r.data)) return;
      awaitingNow = r.data;
      renderAwaiting(r.data, user);
      bell.setAwaiting(r.data);
      document.dispatchEvent(new CustomEvent("hub:awaiting", {detail: r.data}));
    }, 50);
  };
  refreshAwaiting();
  api("GET", "/api/v1/notifications/preferences").then((r) => { if (r.ok && r.data) channels = r.data.channels; });
  const onFrame = (frame) => {
    if (frame.type === "alert" && frame.alert) {
      const alert = frame.alert;
      const event = frame.event || "raised";
      if (event === "raised" || event === "escalated") {
        const url = `/alerts/${alert.id}/`;
        bell.add({key: `alert-${alert.id}-${event}`, text: alertText(alert), url});
        showBanner(alert, user);  // an alert waiting for this centre becomes its lasting banner below
        if (wants(event === "escalated" ? "escalation" : `alert_${alert.severity}`)) {
          browserNotify(gettext("Security alert"), alertText(alert), url);
        }
      } else if (event === "acknowledged" && frame.acknowledgement && frame.acknowledgement.centre === user.centre) {
        // Someone of this centre acknowledged (here or in another tab): the banner's button is done.
        const banner = document.querySelector(`.alert-banner[data-alert-id="${alert.id}"]`);
        const button = banner && banner.querySelector(".ack-button");
        if (button) {
          button.replaceWith(fmt(gettext("Acknowledged for %(centre)s"), {centre: user.centre}));
        }
      }
      refreshAwaiting();
      document.dispatchEvent(new CustomEvent("hub:alert", {detail: frame}));
    } else if (frame.type === "alert.withdrawn" || frame.type === "ticket.withdrawn") {
      // Its marking tightened and this person may no longer see it: off the bell, the banners and
      // every page showing it; the server's unseen count no longer counts it (notify.selectors.readable).
      const alert = frame.type === "alert.withdrawn";
      bell.forget(alert ? `/alerts/${frame.id}/` : `/tickets/${frame.id}/`);
      if (alert) {
        for (const banner of document.querySelectorAll(`.alert-banner[data-alert-id="${frame.id}"]`)) banner.remove();
        refreshAwaiting();
      }
      bell.loadFromServer();
      document.dispatchEvent(new CustomEvent(alert ? "hub:alert-withdrawn" : "hub:ticket-withdrawn", {detail: frame}));
    } else if (frame.type === "ticket" && frame.ticket) {
      const ticket = frame.ticket;
      const ev = frame.event || {};
      bell.add({key: `ticket-${ticket.id}-${ev.id || ticket.version || ""}`,
        text: `${ticket.reference || "#" + ticket.id}: ${ticket.title || ""} — ${personName(ev.actor)} ${label(ev.kind || ticket.status)}`,
        url: `/tickets/${ticket.id}/`});
      document.dispatchEvent(new CustomEvent("hub:ticket", {detail: frame}));
    } else if (frame.type === "ticket.sla" && frame.ticket) {
      // An SLA clock of a request due soon or breached (the target centre and the requester).
      const ticket = frame.ticket;
      const clock = frame.clock === "first_response" ? gettext("first response") : gettext("resolution");
      const text = frame.event === "breached"
        ? fmt(gettext("%(ref)s: %(clock)s overdue"), {ref: ticket.reference, clock})
        : fmt(gettext("%(ref)s: %(clock)s due soon"), {ref: ticket.reference, clock});
      const url = `/tickets/${ticket.id}/`;
      bell.add({key: `sla-${ticket.id}-${frame.clock}-${frame.event}-${frame.due}`, text, url});
      if (frame.event === "breached") browserNotify(gettext("Support request"), text, url);
      document.dispatchEvent(new CustomEvent("hub:ticket", {detail: {ticket, event: frame.entry}}));
    } else if (frame.type === "ticket.seen") {
      // The other centre has just read a request since its latest comment (ticket_seen.js listens).
      document.dispatchEvent(new CustomEvent("hub:ticket-seen", {detail: frame}));
    } else if (frame.type === "event.changed" && frame.item) {
      // The events calendar changed (events.js redraws what it shows).
      document.dispatchEvent(new CustomEvent("hub:event", {detail: frame}));
    } else if (frame.type === "duty" && frame.duty) {
      // Every centre's duty state (duty.js's board and roster listen); the officer's reminder to
      // confirm and the deputy's and managers' news of an unconfirmed shift go to the bell too.
      if ((frame.event === "reminder" || frame.event === "unconfirmed") && frame.url) {
        const text = frame.event === "reminder"
          ? fmt(gettext("Your duty shift at %(centre)s has started: confirm you are on duty."), {centre: frame.duty.centre})
          : fmt(gettext("%(centre)s: %(name)s has not confirmed their duty shift."), {centre: frame.duty.centre, name: personName(frame.duty.on_duty)});
        bell.add({key: `duty-${frame.duty.shift}-${frame.event}`, text, url: frame.url});
        browserNotify(gettext("Duty"), text, frame.url);
      }
      document.dispatchEvent(new CustomEvent("hub:duty", {detail: frame}));
    } else if (frame.type === "event" && frame.item) {
      const text = fmt(gettext("Tomorrow: %(title)s (%(centre)s)"), {title: frame.item.title, centre: frame.item.organiser});
      bell.add({key: `event-${frame.item.id}-${frame.event}`, text, url: frame.url});
      if (wants("event")) browserNotify(gettext("Event reminder"), text, frame.url);
    } else if (frame.type === "mention" && frame.message) {
      const m = frame.message;
      const url = `/topics/${encodeURIComponent(m.topic)}/#m-${m.id}`;
      const text = fmt(gettext("%(name)s mentioned you in %(topic)s"), {name: personName(m.author), topic: m.topic});
      bell.add({key: `mention-${m.id}`, text, url});
      if (wants("mention")) browserNotify(gettext("Mention"), text, url);
      document.dispatchEvent(new CustomEvent("hub:mention", {detail: frame}));
    }
  };
  const bellButton = $("#bell");
  const live = $("#live-status");
  let wasLive = false;
  let lost = false;
  const onState = (state) => {
    bellButton.dataset.state = state;
    if (live) {
      live.dataset.state = state;
      live.textContent = STATE_TEXT()[state] || state;
    }
    if (state === "live") {
      // Back after a drop: what happened meanwhile reached no page; each page reloads its data.
      if (wasLive && lost) {
        refreshAwaiting();
        bell.loadFromServer();
        document.dispatchEvent(new CustomEvent("hub:reconnected"));
      }
      wasLive = true;
      lost = false;
    } else if (state !== "connecting") {
      lost = true;
    }
  };
  const socket = new LiveSocket("/ws/notifications/", {onFrame, onState});
  socket.start();
  return socket;
}
