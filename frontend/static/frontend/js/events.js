// The MOU's events calendar (/events/): a month grid and a list, an event's details with who attends
// from each centre, registering and withdrawing, and, for organisers, the form to add or change an
// event (docs/duty.md, "Events"). Live: an `event.changed` frame (an event added, changed or
// cancelled, someone registered or withdrew, anywhere) redraws the period shown and the open event
// from the API, so what is drawn is always what the server says the viewer may see.

import {$, $$, api, el, fmt, gettext, personName} from "./util.js";
import {addDays, dayOf, fromInput, inputValue, rangeLabel, rangeOf, renderGrid, step, timeOf, today} from "./calendar_view.js";

const KINDS = {workshop: () => gettext("Workshop"), training: () => gettext("Training course"),
  conference: () => gettext("Conference"), meeting: () => gettext("Meeting"), other: () => gettext("Other")};

function when(e) {
  const start = dayOf(e.starts_at);
  const end = dayOf(new Date(new Date(e.ends_at).getTime() - 1));
  const d = (day) => `${day.slice(8, 10)}/${day.slice(5, 7)}/${day.slice(0, 4)}`;
  return start === end ? `${d(start)} ${timeOf(e.starts_at)}–${timeOf(e.ends_at)}`
    : `${timeOf(e.starts_at)} ${d(start)} – ${timeOf(e.ends_at)} ${d(end)}`;
}

/** "DN 3, HUE 1" with the names on hover (title) and for screen readers. */
function attendees(e) {
  if (!e.registrations.length) return el("span", {class: "muted"}, gettext("Nobody registered yet."));
  return el("ul", {class: "registrations"}, e.registrations.map((g) =>
    el("li", {title: g.people.map(personName).join(", "), dataset: {centre: g.centre || ""}},
      el("strong", {}, g.centre || "—"), ` ${g.count}`,
      el("span", {class: "visually-hidden"}, `: ${g.people.map(personName).join(", ")}`))));
}

class Calendar {
  constructor(config) {
    this.config = config;
    this.view = "month";
    this.anchor = today();
    this.events = [];
    this.box = $("#events-calendar");
    this.detail = $("#event-detail");
    this.form = $("#event-form");
  }

  async start() {
    for (const b of $$(".view-switch button")) {
      b.addEventListener("click", () => {
        this.view = b.dataset.view;
        for (const o of $$(".view-switch button")) o.setAttribute("aria-pressed", String(o === b));
        this.load();
      });
    }
    $("#events-prev").addEventListener("click", () => { this.anchor = step("month", this.anchor, -1); this.load(); });
    $("#events-next").addEventListener("click", () => { this.anchor = step("month", this.anchor, 1); this.load(); });
    $("#events-today").addEventListener("click", () => { this.anchor = today(); this.load(); });
    $("#events-feed").addEventListener("click", async () => {
      const r = await api("GET", "/api/v1/events/feed");
      const input = $("#events-feed-url");
      input.hidden = false;
      input.value = r.ok ? r.data.url : r.error.detail;
      input.select();
    });
    if (this.form) this.bindForm();
    const wanted = new URLSearchParams(window.location.search).get("event");
    if (wanted) {
      const r = await api("GET", `/api/v1/events/${encodeURIComponent(wanted)}`);
      if (r.ok) { this.anchor = dayOf(r.data.starts_at); this.show(r.data); }
    }
    document.addEventListener("hub:event", (e) => this.changed(e.detail.item));
    document.addEventListener("hub:reconnected", () => this.changed(null));  // catch up after a drop
    await this.load();
    this.box.dataset.ready = "1";
  }

  changed(item) {
    // Frames come in bursts (a colleague registering five people): one redraw per burst.
    if (item && this.detail.dataset.event === String(item.id)) this.reopen = true;
    if (!item && !this.detail.hidden) this.reopen = true;
    clearTimeout(this.redraw);
    this.redraw = setTimeout(async () => {
      if (this.reopen && this.detail.dataset.event) { this.reopen = false; await this.open(this.detail.dataset.event); }
      await this.load();
    }, 150);
  }

  range() {
    if (this.view === "list") {
      const first = `${this.anchor.slice(0, 7)}-01`;
      return [first, step("month", step("month", step("month", first, 1), 1), 1)];
    }
    return rangeOf("month", this.anchor);
  }

  async load() {
    const [start, end] = this.range();
    $("#events-range").textContent = this.view === "list"
      ? `${rangeLabel("month", start)} – ${rangeLabel("month", addDays(end, -1))}` : rangeLabel("month", this.anchor);
    const r = await api("GET", `/api/v1/events?start=${start}&end=${end}&limit=200`);
    if (!r.ok) { this.box.replaceChildren(el("p", {class: "error"}, r.error.detail)); return; }
    this.events = r.data.results;
    if (this.view === "month") {
      renderGrid(this.box, {view: "month", anchor: this.anchor, items: this.events, render: (e) => this.chip(e)});
    } else {
      this.box.className = "events-list";
      this.box.replaceChildren();
      const list = el("ul", {class: "plain-list"});
      for (const e of this.events) {
        list.append(el("li", {class: `event-row${e.cancelled_at ? " cancelled" : ""}`, dataset: {event: String(e.id)}},
          this.chip(e), " ", el("span", {class: "muted"}, when(e), " · ", e.organiser, " · ", e.place || gettext("Online")),
          " ", attendees(e)));
      }
      if (!this.events.length) list.append(el("li", {class: "muted"}, gettext("No events in this period.")));
      this.box.append(list);
    }
  }

  chip(e) {
    return el("button", {type: "button", class: `link-button event-chip${e.cancelled_at ? " cancelled" : ""}`, dataset: {event: String(e.id)},
      onclick: () => this.open(e.id)},
    this.view === "month" ? `${timeOf(e.starts_at)} ` : "", e.title, e.registered ? " ✓" : "");
  }

  async open(id) {
    const r = await api("GET", `/api/v1/events/${id}`);
    if (r.ok) this.show(r.data);
  }

  show(e) {
    const d = this.detail;
    d.hidden = false;
    d.dataset.event = String(e.id);
    const actions = el("p", {class: "event-actions"});
    if (!e.cancelled_at) {
      const button = el("button", {type: "button", class: e.registered ? "" : "primary", dataset: {testid: "event-register"}},
        e.registered ? gettext("Withdraw my registration") : gettext("Register to attend"));
      button.addEventListener("click", () => this.act(e, e.registered ? "unregister" : "register"));
      actions.append(button);
    }
    if (e.can_edit && this.form) {
      actions.append(" ", el("button", {type: "button", onclick: () => this.edit(e)}, gettext("Change")));
      if (!e.cancelled_at) actions.append(" ", el("button", {type: "button", class: "danger", onclick: () => this.act(e, "cancel")}, gettext("Cancel the event")));
    }
    d.replaceChildren(
      el("h2", {}, e.title, e.cancelled_at ? el("span", {class: "tag"}, " ", gettext("Cancelled")) : null),
      el("p", {}, el("span", {class: "tag"}, KINDS[e.kind] ? KINDS[e.kind]() : e.kind), " ",
        fmt(gettext("Organised by %(centre)s"), {centre: e.organiser_name || e.organiser})),
      el("p", {}, when(e)),
      e.place ? el("p", {}, gettext("Place"), ": ", e.place) : null,
      e.online_url ? el("p", {}, gettext("Online link"), ": ", el("a", {href: e.online_url, rel: "noopener noreferrer nofollow", target: "_blank"}, e.online_url)) : null,
      e.topic ? el("p", {}, gettext("Topic"), ": ", el("a", {href: `/topics/${encodeURIComponent(e.topic)}/`}, e.topic_name || e.topic)) : null,
      e.description ? el("p", {class: "event-description"}, e.description) : null,
      el("h3", {}, fmt(gettext("Who attends (%(n)s)"), {n: e.registered_count})),
      attendees(e),
      actions,
      el("p", {class: "error", role: "alert", id: "event-detail-error"}));
  }

  async act(e, action) {
    const r = await api("POST", `/api/v1/events/${e.id}/${action}`);
    if (!r.ok) { $("#event-detail-error").textContent = r.error.detail; return; }
    this.show(r.data);
    await this.load();
  }

  async bindForm() {
    this.form.addEventListener("submit", (ev) => { ev.preventDefault(); this.save(); });
    $("#event-form-reset").addEventListener("click", () => this.edit(null));
    this.edit(null);
    const r = await api("GET", "/api/v1/topics");
    const results = r.ok ? (Array.isArray(r.data) ? r.data : r.data.results || []) : [];
    for (const t of results) this.form.elements.topic.append(el("option", {value: t.slug}, t.name || t.slug));
  }

  edit(e) {
    const f = this.form.elements;
    $("#event-error").textContent = "";
    f.id.value = e ? e.id : "";
    f.title.value = e ? e.title : "";
    f.kind.value = e ? e.kind : "workshop";
    if (f.organiser && e) f.organiser.value = e.organiser;
    const day = addDays(today(), 7);
    f.starts_at.value = e ? inputValue(e.starts_at) : `${day}T08:00`;
    f.ends_at.value = e ? inputValue(e.ends_at) : `${day}T17:00`;
    f.place.value = e ? e.place : "";
    f.online_url.value = e ? e.online_url : "";
    f.topic.value = e && e.topic ? e.topic : "";
    f.description.value = e ? e.description : "";
    $("#event-form-title").textContent = e ? gettext("Change the event") : gettext("New event");
    $("#event-form-reset").hidden = !e;
    if (e) this.form.scrollIntoView({block: "nearest"});
  }

  async save() {
    const f = this.form.elements;
    const body = {title: f.title.value, kind: f.kind.value, starts_at: fromInput(f.starts_at.value),
      ends_at: fromInput(f.ends_at.value), place: f.place.value, online_url: f.online_url.value,
      description: f.description.value, topic: f.topic.value || null};
    if (f.organiser && !f.id.value) body.organiser = f.organiser.value;
    const r = f.id.value ? await api("PATCH", `/api/v1/events/${f.id.value}`, body) : await api("POST", "/api/v1/events", body);
    if (!r.ok) { $("#event-error").textContent = r.error.detail; return; }
    this.anchor = dayOf(r.data.starts_at);
    this.edit(null);
    this.show(r.data);
    await this.load();
  }
}

export function startEvents() {
  new Calendar(JSON.parse($("#events-config").textContent)).start();
}
