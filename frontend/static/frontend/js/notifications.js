// The caller's own stream (/ws/notifications/), on every page: the header bell with its unread
// count, full-width alert banners with an Acknowledge button, browser notifications, and DOM events
// ("hub:alert", "hub:ticket", "hub:mention") that the alert and ticket pages listen to for live
// updates, so a page never opens a second notifications socket.

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
    const unread = this.items.filter((i) => !i.read).length;
    const badge = $("#bell-count");
    badge.textContent = String(unread);
    badge.hidden = unread === 0;
    this.button.setAttribute("aria-label", fmt(gettext("Notifications (%(n)s unread)"), {n: unread}));
  }

  render() {
    const list = $("#bell-list");
    list.replaceChildren();
    for (const i of this.items) {
      list.append(el("li", {class: i.read ? "" : "unread"}, el("a", {href: i.url || "#"}, i.text)));
    }
    $("#bell-empty").hidden = this.items.length > 0;
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

function browserNotify(title, body, url) {
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  try {
    const n = new Notification(title, {body, tag: url});
    n.onclick = () => { window.focus(); window.location.href = url; };
  } catch (e) { /* some browsers only allow notifications from a service worker */ }
}

export function startNotifications() {
  const user = me();
  if (!user || !$("#bell")) return null;
  const bell = new Bell(user);
  bell.loadFromServer();
  api("GET", "/api/v1/notifications/preferences").then((r) => { if (r.ok && r.data) channels = r.data.channels; });
  const onFrame = (frame) => {
    if (frame.type === "alert" && frame.alert) {
      const alert = frame.alert;
      const event = frame.event || "raised";
      if (event === "raised" || event === "escalated") {
        const url = `/alerts/${alert.id}/`;
        bell.add({key: `alert-${alert.id}-${event}`, text: alertText(alert), url});
        showBanner(alert, user);
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
      document.dispatchEvent(new CustomEvent("hub:alert", {detail: frame}));
    } else if (frame.type === "ticket" && frame.ticket) {
      const ticket = frame.ticket;
      const ev = frame.event || {};
      bell.add({key: `ticket-${ticket.id}-${ev.id || ticket.version || ""}`,
        text: `${ticket.reference || "#" + ticket.id}: ${ticket.title || ""} — ${personName(ev.actor)} ${label(ev.kind || ticket.status)}`,
        url: `/tickets/${ticket.id}/`});
      document.dispatchEvent(new CustomEvent("hub:ticket", {detail: frame}));
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
  const socket = new LiveSocket("/ws/notifications/", {onFrame, onState: (state) => { bellButton.dataset.state = state; }});
  socket.start();
  return socket;
}
