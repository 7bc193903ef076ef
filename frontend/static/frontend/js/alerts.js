// Alert list + raising form (/alerts/) and the alert page with its acknowledgement matrix and
// history (/alerts/{id}/). Both refresh when the notifications stream reports a change.

import {$, api, centreCode, clearFieldErrors, el, fillCentreSelects, fmt, label, me, personName, setHtml, gettext,
  showFormError, showWithdrawn, timeEl, withdrawnItems} from "./util.js";
import {acknowledge, since as sinceText} from "./notifications.js";
import {renderRecord} from "./alert_record.js";
import {tlpLabel} from "./tlp.js";

function resultsOf(data) {
  if (Array.isArray(data)) return data;
  return (data && Array.isArray(data.results)) ? data.results : [];
}

function severityTag(sev) {
  return el("span", {class: `tag severity-${sev}`}, label(sev));
}

const tlpTag = (tlp) => tlpLabel(tlp);

// --- list ---------------------------------------------------------------------------------------
export function startAlertList() {
  const rows = $("#alert-rows");
  const more = $("#alerts-more");
  let next = null;
  const withdrawn = withdrawnItems();

  async function load(append = false) {
    const url = "/api/v1/alerts?limit=50" + (append && next ? `&cursor=${encodeURIComponent(next)}` : "");
    const started = withdrawn.started();
    const r = await api("GET", url);
    if (!append) rows.replaceChildren();
    if (!r.ok) { rows.append(el("tr", {}, el("td", {colspan: 7, class: "error"}, r.error.detail))); return; }
    const list = resultsOf(r.data);
    next = r.data && r.data.next;
    more.hidden = !next;
    for (const a of list) {
      if (!withdrawn.shows(a.id, started)) continue;  // withdrawn while this load was on its way
      rows.append(el("tr", {dataset: {alertId: String(a.id)}},
        el("td", {}, el("a", {href: `/alerts/${a.id}/`}, a.title)),
        el("td", {}, severityTag(a.severity)),
        el("td", {}, tlpTag(a.tlp)),
        el("td", {}, centreCode(a.centre || a.raising_centre)),
        el("td", {}, label(a.status)),
        el("td", {class: "ack-progress", dataset: {testid: "ack-progress"}},
          a.recipient_count ? fmt(gettext("%(n)s / %(total)s"), {n: a.acknowledged_count, total: a.recipient_count}) : "—"),
        el("td", {}, timeEl(a.created_at || a.raised_at))));
    }
    if (!rows.children.length) rows.append(el("tr", {}, el("td", {colspan: 7, class: "muted"}, gettext("No alerts."))));
  }
  more.addEventListener("click", () => load(true));
  document.addEventListener("hub:alert", (e) => {
    if (e.detail.alert) withdrawn.shown(e.detail.alert.id);  // a frame about it: this person sees it again
    load();
  });
  // An alert this person may no longer see leaves the list at once (no reload: its row goes), and a
  // load already on its way does not draw it again.
  document.addEventListener("hub:alert-withdrawn", (e) => {
    withdrawn.withdraw(e.detail.id);
    rows.querySelector(`tr[data-alert-id="${Number(e.detail.id)}"]`)?.remove();
    if (!rows.children.length) rows.append(el("tr", {}, el("td", {colspan: 7, class: "muted"}, gettext("No alerts."))));
  });
  document.addEventListener("hub:reconnected", () => load());  // catch up after a drop
  load();
  bindRaiseForm();
  bindImport();
}

/** A STIX 2.1 bundle from a CERT or a SIEM becomes an alert (POST /api/v1/alerts/import). */
function bindImport() {
  const form = $("#stix-form");
  if (!form) return;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const error = $("#stix-error");
    error.textContent = "";
    const file = form.elements.bundle.files[0];
    if (!file) return;
    let bundle;
    try { bundle = JSON.parse(await file.text()); } catch (err) {
      error.textContent = gettext("This file is not JSON: a STIX 2.1 bundle is a JSON document.");
      return;
    }
    const r = await api("POST", "/api/v1/alerts/import", bundle);
    if (r.ok) { window.location.href = `/alerts/${r.data.id}/`; return; }
    error.textContent = r.error.detail;
  });
  form.dataset.ready = "true"; // tests (and nothing else) wait for it: a submit before this would go natively
}

function addIndicatorRow(type = "ipv4", value = "") {
  const template = $("#indicator-template");
  const row = template.content.firstElementChild.cloneNode(true);
  row.querySelector("select").value = type;
  row.querySelector("input").value = value;
  row.querySelector(".remove-indicator").addEventListener("click", () => row.remove());
  $("#indicator-rows").append(row);
  return row;
}

function bindRaiseForm() {
  const form = $("#alert-form");
  if (!form) return;
  fillCentreSelects(form);
  // Who will see a limited alert, said before it is sent (issue 20): the centres chosen and the raiser's own.
  const scoped = () => ["amber", "amber+strict", "red"].includes(form.tlp.value);
  const showShared = () => {
    $("#shared-wrap").hidden = !scoped();
    const chosen = Array.from(form.shared_with.selectedOptions, (o) => o.value);
    const mine = (me() || {}).centre || "—";
    const red = form.tlp.value === "red";
    if (red) {
      $("#shared-hint").textContent = chosen.length
        ? fmt(gettext("Only %(centres)s will see this alert."), {centres: [mine, ...chosen].join(", ")})
        : fmt(gettext("No centre chosen: only your centre (%(centre)s) will see this alert."), {centre: mine});
    } else {
      $("#shared-hint").textContent = chosen.length
        ? fmt(gettext("Only the security officers and managers of %(centres)s will see this alert."),
          {centres: [mine, ...chosen].join(", ")})
        : gettext("No centre chosen: the security officers and managers of every centre will see this alert.");
    }
  };
  form.shared_with.addEventListener("change", showShared);
  form.tlp.addEventListener("change", showShared);
  showShared();
  $("#add-indicator").addEventListener("click", () => addIndicatorRow().querySelector("input").focus());
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const error = $("#alert-form-error");
    error.textContent = "";
    clearFieldErrors(form);
    // The rows sent, in order: "indicators.N.…" in an error is the Nth of these (empty rows are not sent).
    const sentRows = Array.from(form.querySelectorAll(".indicator-row")).filter((row) => row.querySelector("input").value.trim());
    const indicators = sentRows.map((row) => ({
      type: row.querySelector("select").value, value: row.querySelector("input").value.trim(),
    }));
    const payload = {
      title: form.title.value.trim(),
      severity: form.severity.value,
      tlp: form.tlp.value,
      description: form.description.value,
      affected_systems: form.affected_systems.value,
      recommended_actions: form.recommended_actions.value,
      indicators,
      shared_with: scoped() ? Array.from(form.shared_with.selectedOptions, (o) => o.value) : [],
    };
    if (!payload.title) {
      form.title.setAttribute("aria-invalid", "true");
      error.textContent = gettext("A title is required.");
      form.title.focus();
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    const r = await api("POST", "/api/v1/alerts", payload);
    button.disabled = false;
    if (r.ok) {
      const alert = (r.data && r.data.alert) || r.data;
      window.location.href = `/alerts/${alert.id}/`;
      return;
    }
    showFormError(form, error, r.error, (field) => {
      const m = /^indicators\.(\d+)\.(type|value)$/.exec(field);
      if (m) {
        const row = sentRows[Number(m[1])];
        return row && row.querySelector(m[2] === "type" ? "select" : "input");
      }
      return form.elements[field];
    });
  });
}

// --- detail -------------------------------------------------------------------------------------
let sinceTimer = null;

/** A length of time in minutes, hours or days, in the page's language ("12 phút", "3 hours"). */
function duration(ms) {
  const minutes = Math.max(0, Math.round(ms / 60000));
  const lang = document.documentElement.lang || "vi";
  const unit = (value, u) => new Intl.NumberFormat(lang, {style: "unit", unit: u, unitDisplay: "long"}).format(value);
  if (minutes < 60) return unit(minutes, "minute");
  if (minutes < 48 * 60) return unit(Math.round(minutes / 60), "hour");
  return unit(Math.round(minutes / 1440), "day");
}

export function startAlertDetail(root) {
  const id = Number(root.dataset.alertId);
  const user = me();
  let withdrawn = false;  // no longer this person's to see: nothing of it is shown again

  async function load() {
    if (withdrawn) return;
    const r = await api("GET", `/api/v1/alerts/${id}`);
    if (withdrawn) return;  // withdrawn while this was on its way
    root.setAttribute("aria-busy", "false");
    if (!r.ok) { $("#alert-error").textContent = r.error.detail; return; }
    render((r.data && r.data.alert) || r.data);
  }

  function render(a) {
    $("#alert-title").textContent = a.title;
    $("#alert-meta").replaceChildren(severityTag(a.severity), " ", tlpTag(a.tlp), " ",
      el("span", {}, label(a.status)), " · ",
      fmt(gettext("raised by %(who)s (%(centre)s)"), {who: personName(a.raised_by), centre: centreCode(a.centre || a.raising_centre)}),
      " · ", timeEl(a.created_at || a.raised_at),
      (a.shared_with && a.shared_with.length) ? ` · ${fmt(gettext("shared with %(centres)s"), {centres: a.shared_with.join(", ")})}` : "");
    setHtml($("#alert-description"), a.description_html || a.html || "");
    $("#alert-affected").textContent = Array.isArray(a.affected_systems) ? a.affected_systems.join(", ") : (a.affected_systems || "—");
    const actions = $("#alert-actions");
    if (a.recommended_actions_html) setHtml(actions, a.recommended_actions_html);
    else actions.textContent = a.recommended_actions || "—";
    $("#alert-indicators").replaceChildren(...(a.indicators || []).map((i) =>
      el("tr", {dataset: {type: i.type, value: i.value}}, el("td", {}, label(i.type)), el("td", {}, el("code", {}, i.value)))));
    // The matrix: pending centres first, by their full names; how many of how many; time since raised.
    const acks = (a.acknowledgements || []).slice().sort((x, y) =>
      (x.status === "pending" ? 0 : 1) - (y.status === "pending" ? 0 : 1) || String(x.centre).localeCompare(String(y.centre)));
    const raisedAt = new Date(a.created_at || a.raised_at).getTime();
    $("#alert-acks").replaceChildren(...acks.map((k) => el("tr", {class: `ack-${k.status}`, dataset: {centre: centreCode(k.centre)}},
      el("th", {scope: "row"}, k.centre_name || centreCode(k.centre), " ", el("span", {class: "centre-tag"}, centreCode(k.centre))),
      el("td", {}, label(k.status)), el("td", {}, personName(k.by)), el("td", {}, k.at ? timeEl(k.at) : ""),
      el("td", {}, k.at ? duration(new Date(k.at).getTime() - raisedAt) : ""))));
    const done = acks.filter((k) => k.status === "acknowledged").length;
    $("#ack-bar").max = Math.max(acks.length, 1);
    $("#ack-bar").value = done;
    $("#ack-count").textContent = fmt(gettext("%(n)s / %(total)s acknowledged"), {n: done, total: acks.length});
    const since = () => { $("#ack-since").textContent = fmt(gettext("· raised %(ago)s"), {ago: sinceText(a.created_at || a.raised_at)}); };
    since();
    clearInterval(sinceTimer);
    sinceTimer = setInterval(since, 60000);
    const linked = a.requests || [];
    $("#alert-links-section").hidden = !linked.length;
    $("#alert-links").replaceChildren(...linked.map((l) => el("li", {dataset: {ticketId: String(l.ticket.id)}},
      el("a", {href: l.ticket.url}, l.ticket.reference), ` ${l.ticket.title} `, el("span", {class: "tag"}, l.label), " ",
      label(l.ticket.status))));
    renderAckArea(a);
    renderRecord(a, load);
  }

  // After one's own acknowledgement the button gives way to "Acknowledged for …", which takes the
  // focus (a keyboard user is not sent back to the top of the page).
  let focusAck = false;

  function renderAckArea(a) {
    const area = $("#alert-ack-area");
    if (area.contains(document.activeElement)) focusAck = true;  // a live redraw keeps the focus here too
    area.replaceChildren();
    const viewer = a.viewer || {};
    if (viewer.acknowledged) {
      const done = el("p", {class: "ok", tabindex: "-1"}, fmt(gettext("Acknowledged for %(centre)s"), {centre: user.centre}));
      area.append(done);
      if (focusAck) { focusAck = false; done.focus(); }
    } else if (viewer.can_acknowledge) {
      const button = el("button", {type: "button", class: "ack-button primary"},
        fmt(gettext("Acknowledge for %(centre)s"), {centre: user.centre}));
      button.addEventListener("click", async () => {
        button.disabled = true;
        const r = await acknowledge(id);
        if (!r.ok) { button.disabled = false; $("#alert-error").textContent = r.error.detail; button.focus(); return; }
        focusAck = true;
        load();
      });
      area.append(button);
      if (focusAck) { focusAck = false; button.focus(); }
    }
    const statusArea = $("#alert-status-area");
    statusArea.replaceChildren();
    if (!viewer.can_change_status) return;
    for (const to of ["mitigated", "closed"]) {
      if (to === a.status) continue;
      const button = el("button", {type: "button", dataset: {to}},
        to === "mitigated" ? gettext("Mark mitigated") : gettext("Close alert"));
      button.addEventListener("click", async () => {
        button.disabled = true;
        const r = await api("POST", `/api/v1/alerts/${id}/status`, {to, note: ""});
        button.disabled = false;
        if (!r.ok) { $("#alert-error").textContent = r.error.detail; return; }
        load();
      });
      statusArea.append(button, " ");
    }
  }

  document.addEventListener("hub:alert", (e) => {
    if (e.detail.alert && Number(e.detail.alert.id) === id) load();
  });
  // Its marking tightened past this person: the page stops showing it and says why.
  document.addEventListener("hub:alert-withdrawn", (e) => {
    if (Number(e.detail.id) !== id || withdrawn) return;
    withdrawn = true;
    clearInterval(sinceTimer);
    showWithdrawn(root, gettext("This alert is no longer visible to you."), "/alerts/", gettext("All alerts"));
  });
  document.addEventListener("hub:reconnected", () => load());  // catch up after a drop
  load();
}
