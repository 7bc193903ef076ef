// Duty: every centre's state (a board shown on the duty page, the home page of security staff and
// the managers' dashboard, kept live by the `duty` frames the notifications stream turns into
// "hub:duty" events), the officer's "confirm on duty" heartbeat, and one centre's roster in a week
// or month view, which its managers edit, export and import as iCalendar (docs/duty.md).

import {$, $$, api, el, fmt, gettext, me, personName} from "./util.js";
import {addDays, dayOf, fromInput, inputValue, rangeLabel, rangeOf, renderGrid, step, timeOf, today} from "./calendar_view.js";

const STATES = {
  confirmed: () => gettext("On duty, confirmed"),
  unconfirmed: () => gettext("On duty, not confirmed"),
  nobody: () => gettext("Nobody rostered"),
};

function boardItem(duty) {
  const who = duty.on_duty
    ? el("span", {class: "duty-who"}, personName(duty.on_duty),
      duty.until ? el("span", {class: "muted"}, " · ", fmt(gettext("until %(time)s"), {time: `${timeOf(duty.until)} ${dayOf(duty.until).slice(8, 10)}/${dayOf(duty.until).slice(5, 7)}`})) : null)
    : null;
  return el("li", {class: `duty-item duty-${duty.state}`, dataset: {centre: duty.centre, state: duty.state}},
    el("a", {href: `/duty/${duty.centre}/`, class: "duty-centre"}, duty.centre),
    el("span", {class: `tag duty-state duty-state-${duty.state}`}, STATES[duty.state] ? STATES[duty.state]() : duty.state),
    who);
}

/** Every centre's duty state in `ul`, updated live. */
export async function startDutyBoard(ul) {
  if (!ul) return;
  const r = await api("GET", "/api/v1/duty");
  ul.replaceChildren();
  if (!r.ok) { ul.append(el("li", {class: "muted"}, r.error.detail)); return; }
  for (const duty of r.data) ul.append(boardItem(duty));
  document.addEventListener("hub:duty", (e) => {
    const duty = e.detail && e.detail.duty;
    if (!duty || !["confirmed", "started", "ended", "roster_changed"].includes(e.detail.event)) return;
    const old = ul.querySelector(`li[data-centre="${CSS.escape(duty.centre)}"]`);
    if (old) old.replaceWith(boardItem(duty)); else ul.append(boardItem(duty));
  });
}

function shortWhen(value) {
  return `${timeOf(value)} ${dayOf(value).slice(8, 10)}/${dayOf(value).slice(5, 7)}/${dayOf(value).slice(0, 4)}`;
}

const MAX_TIMER = 2 ** 31 - 1;  // setTimeout's longest wait (about 24 days)

/**
 * The viewer's "confirm on duty" card (duty page and home page): shown while they may confirm a
 * shift, from the server's answer (GET /api/v1/duty/mine). It appears when their shift begins
 * without a reload: a timer set from the server's `next_change` (measured on the server's clock,
 * so a wrong clock here does not matter) asks the server again then, and so does every `duty`
 * frame about their centre (the watch job's `started` and `reminder`, a roster change). When the
 * answer shows a shift, the board's line for their centre is updated from the same answer.
 */
export function startMyDuty(card) {
  if (!card) return;
  const button = $("#confirm-duty", card);
  const status = $("#confirm-status", card);
  let timer = null;
  let shown = null;  // the shift drawn, so a heartbeat's status is not wiped by a refresh

  function draw(shift) {
    card.hidden = !shift;
    card.dataset.shift = shift ? String(shift.id) : "";
    if (!shift) { shown = null; return; }
    $("#my-duty-text", card).textContent = fmt(gettext("You are the officer on duty for %(centre)s from %(start)s to %(end)s."),
      {centre: shift.centre, start: shortWhen(shift.starts_at), end: shortWhen(shift.ends_at)});
    button.textContent = shift.confirmed_at ? gettext("I am still on duty") : gettext("Confirm on duty");
    if (shown !== shift.id) status.textContent = shift.confirmed_at ? fmt(gettext("Confirmed at %(time)s"), {time: timeOf(shift.confirmed_at)}) : "";
    shown = shift.id;
  }

  async function refresh() {
    clearTimeout(timer);
    const r = await api("GET", "/api/v1/duty/mine");
    if (!r.ok) return;
    draw(r.data.shift);
    if (r.data.duty) document.dispatchEvent(new CustomEvent("hub:duty", {detail: {type: "duty", event: "started", duty: r.data.duty, synthetic: true}}));
    if (r.data.next_change) {
      const wait = new Date(r.data.next_change).getTime() - new Date(r.data.now).getTime();
      timer = setTimeout(refresh, Math.min(Math.max(wait + 250, 250), MAX_TIMER));
    }
    card.dataset.ready = "1";  // tests wait for the first answer
  }

  button.addEventListener("click", async () => {
    button.disabled = true;
    const r = await api("POST", "/api/v1/duty/confirm");
    button.disabled = false;
    if (r.ok) {
      status.textContent = fmt(gettext("Confirmed at %(time)s"), {time: timeOf(r.data.confirmed_at)})
        + (r.data.last_seen_at && r.data.last_seen_at !== r.data.confirmed_at ? " · " + fmt(gettext("last heartbeat %(time)s"), {time: timeOf(r.data.last_seen_at)}) : "");
      button.textContent = gettext("I am still on duty");
    } else {
      status.textContent = r.error.detail;
    }
  });
  document.addEventListener("hub:duty", (e) => {
    const f = e.detail;
    if (!f || !f.duty || f.synthetic) return;  // not our own board update above
    if (["started", "ended", "roster_changed", "reminder"].includes(f.event) && f.duty.centre === me().centre) refresh();
  });
  document.addEventListener("hub:reconnected", refresh);
  refresh();
}

class Roster {
  constructor(config) {
    this.centre = config.centre;
    this.canManage = config.can_manage;
    this.view = "week";
    this.anchor = today();
    this.shifts = [];
    this.grid = $("#roster");
    this.form = $("#shift-form");
  }

  async start() {
    $("#roster-centre").addEventListener("change", (e) => { window.location.href = `/duty/${e.target.value}/`; });
    for (const b of $$(".view-switch button")) {
      b.addEventListener("click", () => {
        this.view = b.dataset.view;
        for (const o of $$(".view-switch button")) o.setAttribute("aria-pressed", String(o === b));
        this.load();
      });
    }
    $("#roster-prev").addEventListener("click", () => { this.anchor = step(this.view, this.anchor, -1); this.load(); });
    $("#roster-next").addEventListener("click", () => { this.anchor = step(this.view, this.anchor, 1); this.load(); });
    $("#roster-today").addEventListener("click", () => { this.anchor = today(); this.load(); });
    if (this.canManage) await this.bindManager();
    document.addEventListener("hub:duty", (e) => {
      if (e.detail && e.detail.event === "roster_changed" && e.detail.duty && e.detail.duty.centre === this.centre) this.load();
    });
    await this.load();
    this.grid.dataset.ready = "1";  // the handlers are bound (tests wait for it)
  }

  async load() {
    const [start, end] = rangeOf(this.view, this.anchor);
    $("#roster-range").textContent = rangeLabel(this.view, this.anchor);
    const r = await api("GET", `/api/v1/centres/${this.centre}/roster?start=${start}&end=${end}`);
    if (!r.ok) { this.grid.replaceChildren(el("p", {class: "error"}, r.error.detail)); return; }
    this.shifts = r.data;
    renderGrid(this.grid, {view: this.view, anchor: this.anchor, items: this.shifts,
      render: (s) => this.renderShift(s),
      onAdd: this.canManage ? (day) => this.edit(null, day) : null});
  }

  renderShift(s) {
    const text = [el("span", {class: "shift-time"}, `${timeOf(s.starts_at)}–${timeOf(s.ends_at)}`), " ",
      el("strong", {class: "shift-officer"}, personName(s.officer)),
      s.deputy ? el("span", {class: "shift-deputy muted"}, " · ", fmt(gettext("deputy %(name)s"), {name: personName(s.deputy)})) : null,
      s.confirmed_at ? el("span", {class: "shift-confirmed", title: gettext("Confirmed")}, " ✓") : null,
      s.note ? el("span", {class: "muted"}, ` — ${s.note}`) : null];
    if (!this.canManage) return el("span", {class: "shift", dataset: {shift: String(s.id)}}, ...text);
    return el("button", {type: "button", class: "shift link-button", dataset: {shift: String(s.id)},
      title: fmt(gettext("Edit the shift of %(name)s"), {name: personName(s.officer)}), onclick: () => this.edit(s)}, ...text);
  }

  async bindManager() {
    // Handlers first (a quick click must never submit the forms natively), then the staff list.
    this.form.addEventListener("submit", (e) => { e.preventDefault(); this.save(); });
    $("#shift-cancel").addEventListener("click", () => this.edit(null, today(), {focus: false}));
    $("#shift-delete").addEventListener("click", () => this.remove());
    $("#roster-import").addEventListener("submit", (e) => { e.preventDefault(); this.importFile(); });
    $("#feed-show").addEventListener("click", () => this.feed("GET", `/api/v1/centres/${this.centre}/roster/feed`));
    $("#feed-reset").addEventListener("click", () => this.feed("POST", `/api/v1/centres/${this.centre}/roster/feed/reset`));
    const r = await api("GET", `/api/v1/centres/${this.centre}/roster/staff`);
    const staff = r.ok ? r.data : [];
    const officer = this.form.elements.officer;
    const deputy = this.form.elements.deputy;
    for (const p of staff) {
      officer.append(el("option", {value: p.username}, `${p.display_name} (${p.username})`));
      deputy.append(el("option", {value: p.username}, `${p.display_name} (${p.username})`));
    }
    this.edit(null, today(), {focus: false});
  }

  edit(shift, day, {focus = true} = {}) {
    const f = this.form.elements;
    $("#shift-error").textContent = "";
    f.id.value = shift ? shift.id : "";
    if (shift) {
      f.starts_at.value = inputValue(shift.starts_at);
      f.ends_at.value = inputValue(shift.ends_at);
      f.officer.value = shift.officer ? shift.officer.username : "";
      f.deputy.value = shift.deputy ? shift.deputy.username : "";
      f.note.value = shift.note || "";
    } else {
      f.starts_at.value = `${day}T07:30`;
      f.ends_at.value = `${addDays(day, 1)}T07:30`;
      f.note.value = "";
    }
    $("#shift-form-title").textContent = shift ? gettext("Change the shift") : gettext("Add a shift");
    $("#shift-cancel").hidden = !shift;
    $("#shift-delete").hidden = !shift;
    if (focus) { this.form.scrollIntoView({block: "nearest"}); f.starts_at.focus(); }
  }

  async save() {
    const f = this.form.elements;
    const body = {starts_at: fromInput(f.starts_at.value), ends_at: fromInput(f.ends_at.value),
      officer: f.officer.value, deputy: f.deputy.value || null, note: f.note.value};
    const r = f.id.value
      ? await api("PATCH", `/api/v1/roster/${f.id.value}`, body)
      : await api("POST", `/api/v1/centres/${this.centre}/roster`, body);
    if (!r.ok) { $("#shift-error").textContent = r.error.detail; return; }
    this.anchor = dayOf(r.data.starts_at);
    this.edit(null, this.anchor, {focus: false});
    await this.load();
  }

  async remove() {
    const id = this.form.elements.id.value;
    if (!id) return;
    const r = await api("DELETE", `/api/v1/roster/${id}`);
    if (!r.ok) { $("#shift-error").textContent = r.error.detail; return; }
    this.edit(null, this.anchor, {focus: false});
    await this.load();
  }

  async importFile() {
    const form = $("#roster-import");
    $("#import-error").textContent = "";
    $("#import-result").textContent = "";
    const data = new FormData();
    data.append("file", form.elements.file.files[0]);
    const r = await api("POST", `/api/v1/centres/${this.centre}/roster/import`, data, {form: true});
    if (!r.ok) { $("#import-error").textContent = r.error.detail; return; }
    $("#import-result").textContent = fmt(gettext("Imported: %(created)s new, %(updated)s changed."), r.data);
    form.reset();
    await this.load();
  }

  async feed(method, url) {
    const r = await api(method, url);
    const input = $("#feed-url");
    if (!r.ok) { input.hidden = false; input.value = r.error.detail; return; }
    input.hidden = false;
    input.value = r.data.url;
    input.select();
    $("#feed-reset").hidden = false;
  }
}

export function startDuty() {
  const config = JSON.parse($("#duty-config").textContent);
  startDutyBoard($("#duty-board"));
  startMyDuty($("#my-duty"));
  new Roster(config).start();
}
