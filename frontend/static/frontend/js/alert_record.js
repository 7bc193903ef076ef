// The alert page's incident record (/alerts/{id}/): the append-only timeline with notes and
// corrections (a corrected entry struck through, linked to its correction), changes of severity,
// TLP and description as new entries, reopening with a reason, where the indicators were seen
// before, what the alert was promoted from, and the STIX 2.1 export (docs/alerts.md).

import {renderOrigin} from "./origin.js";
import {tlpLabel, tlpSelect} from "./tlp.js";
import {$, api, centres, el, fmt, gettext, label, personName, setHtml, timeEl} from "./util.js";

const KINDS = {
  raised: () => gettext("raised the alert"),
  status_changed: () => gettext("changed the status"),
  reopened: () => gettext("reopened the alert"),
  acknowledged: () => gettext("acknowledged"),
  escalated: () => gettext("escalated"),
  note: () => gettext("added a note"),
  description: () => gettext("changed the description"),
  indicators: () => gettext("changed the indicators"),
  severity: () => gettext("changed the severity"),
  tlp: () => gettext("changed the TLP marking"),
};

function change(e) {
  if (e.kind === "tlp") return [tlpLabel(e.before), " → ", tlpLabel(e.after)];
  if (e.before || e.after) return [label(e.before) || "—", " → ", label(e.after) || "—"];
  if (e.kind === "indicators" && e.data) {
    const added = (e.data.added || []).map((i) => `+ ${label(i.type)}: ${i.value}`);
    const removed = (e.data.removed || []).map((i) => `− ${label(i.type)}: ${i.value}`);
    return [[...added, ...removed].join("; ")];
  }
  return [];
}

function entryItem(e, byId, onCorrect) {
  const text = el("div", {class: "entry-text rendered"});
  if (e.html) setHtml(text, e.html); else if (e.text) text.textContent = e.text;
  const corrected = (e.corrected_by || []).length > 0;
  const li = el("li", {id: `entry-${e.id}`, class: `${corrected ? "corrected" : ""}${e.corrects ? " correction" : ""}`,
    dataset: {entry: String(e.id), kind: e.kind}},
  el("div", {class: "entry-head"}, timeEl(e.at), " ", el("strong", {}, personName(e.by) || gettext("the hub")),
    e.centre ? ` (${e.centre})` : "", " ", (KINDS[e.kind] || (() => e.kind))(), " ", ...change(e),
    e.corrects ? [" · ", el("a", {href: `#entry-${e.corrects}`}, fmt(gettext("corrects entry #%(id)s"), {id: e.corrects}))] : []),
  (e.text || e.html) ? text : null,
  e.note && e.kind !== "note" ? el("p", {class: "muted"}, e.note) : null);
  if (corrected) {
    li.append(el("p", {class: "muted"}, gettext("Corrected by"), " ",
      ...e.corrected_by.flatMap((id, i) => [i ? ", " : "", el("a", {href: `#entry-${id}`}, `#${id}`)])));
  }
  if (e.can_correct && onCorrect) {
    li.append(el("button", {type: "button", class: "link-button", onclick: () => onCorrect(e)}, gettext("Correct")));
  }
  return li;
}

/** Fill the record's parts of the page from the alert detail `a`; `reload()` fetches it again. */
export function renderRecord(a, reload) {
  const id = a.id;
  const viewer = a.viewer || {};
  const error = $("#alert-error");
  $("#alert-tlp").replaceChildren(tlpLabel(a.tlp, {scope: a.shared_with && a.shared_with.length ? a.shared_with : null}));
  $("#alert-stix").replaceChildren(el("a", {href: `/api/v1/alerts/${id}/stix`, download: `alert-${id}.stix.json`},
    gettext("Download as STIX 2.1")));
  renderOrigin($("#alert-origin"), a.promoted_from);
  renderSeenBefore(a.seen_before || [], id);
  const entries = a.entries || [];
  const byId = new Map(entries.map((e) => [e.id, e]));
  const form = $("#entry-form");
  const correcting = $("#entry-corrects");
  const startCorrection = (e) => {
    correcting.value = String(e.id);
    $("#entry-correcting").replaceChildren(fmt(gettext("Correcting entry #%(id)s"), {id: e.id}), " ",
      el("button", {type: "button", class: "link-button", onclick: () => { correcting.value = ""; $("#entry-correcting").replaceChildren(); }},
        gettext("Cancel")));
    $("#entry-text").focus();
  };
  $("#alert-timeline").replaceChildren(...entries.map((e) => entryItem(e, byId, startCorrection)));
  form.hidden = !viewer.can_add_entry;
  if (!form.dataset.bound) {
    form.dataset.bound = "1";
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const text = $("#entry-text");
      const payload = {text: text.value, corrects: correcting.value ? Number(correcting.value) : null};
      const r = await api("POST", `/api/v1/alerts/${id}/entries`, payload);
      if (!r.ok) { $("#entry-error").textContent = r.error.detail; text.focus(); return; }
      $("#entry-error").textContent = "";
      text.value = "";
      correcting.value = "";
      $("#entry-correcting").replaceChildren();
      reload();
    });
  }
  renderChanges(a, reload, error);
}

function renderSeenBefore(seen, alertId) {
  for (const row of document.querySelectorAll("#alert-indicators tr")) {
    const item = seen.find((s) => s.type === row.dataset.type && s.value === row.dataset.value);
    const cell = el("td", {class: "seen-before"});
    if (item && item.sightings.length) {
      const list = el("span", {class: "sightings"});
      appendSightings(list, item.sightings);
      cell.append(gettext("Seen before at"), " ", list);
      if (item.more && item.next) cell.append(" ", moreSightings(list, item.next, alertId));
    } else {
      cell.append(el("span", {class: "muted"}, "—"));
    }
    row.append(cell);
  }
}

function appendSightings(list, sightings) {
  for (const s of sightings) {
    if (list.childElementCount) list.append(", ");
    list.append(el("a", {href: `/alerts/${s.alert}/`}, fmt(gettext("%(centre)s on %(date)s"),
      {centre: s.centre || "—", date: new Date(s.seen_at).toLocaleDateString(document.documentElement.lang || "vi")})));
  }
}

// The detail lists an indicator's first 20 sightings (docs/alerts.md); the rest, oldest first, come
// from `GET /api/v1/indicators` page by page: its list goes on past this alert to later ones, so the
// earlier sightings end at this alert's own.
function moreSightings(list, next, alertId) {
  const button = el("button", {type: "button", class: "link-button more-sightings"}, gettext("Show more"));
  let url = next;
  button.addEventListener("click", async () => {
    button.disabled = true;
    const r = await api("GET", url);
    button.disabled = false;
    if (!r.ok) { button.title = r.error.detail; return; }
    const results = r.data.results || [];
    const own = results.findIndex((s) => s.alert === alertId);
    appendSightings(list, own === -1 ? results : results.slice(0, own));
    if (own !== -1 || !r.data.next) { button.remove(); return; }
    const page = new URL(url, location.origin);
    page.searchParams.set("cursor", r.data.next);
    url = page.pathname + page.search;
  });
  return button;
}

// What the person is typing in the change area survives a live redraw (another centre's
// acknowledgement, someone's change): the fields they edited keep their values, an open "Change the
// alert" stays open and the focus stays where it was. Their own successful submit forgets it.
function typedIn(area) {
  const fields = new Map();
  for (const f of area.querySelectorAll("[data-edited]")) {
    fields.set(f.id, f.multiple ? Array.from(f.selectedOptions, (o) => o.value) : f.value);
  }
  const focused = area.contains(document.activeElement) ? document.activeElement.id : "";
  return {fields, focused, open: Boolean(area.querySelector("details[open]"))};
}

function restoreTyped(area, typed) {
  for (const [fieldId, value] of typed.fields) {
    const f = area.querySelector(`#${CSS.escape(fieldId)}`);
    if (!f) continue;
    if (f.multiple) for (const o of f.options) o.selected = value.includes(o.value);
    else f.value = value;
    f.dataset.edited = "1";
  }
  if (typed.open) area.querySelector("details")?.setAttribute("open", "");
  if (typed.focused) area.querySelector(`#${CSS.escape(typed.focused)}`)?.focus();
}

function forgetTyped(area) {
  for (const f of area.querySelectorAll("[data-edited]")) delete f.dataset.edited;
}

function renderChanges(a, reload, error) {
  const area = $("#alert-change");
  const typed = typedIn(area);
  if (!area.dataset.bound) {
    area.dataset.bound = "1";
    const edited = (e) => { if (e.target.id) e.target.dataset.edited = "1"; };
    area.addEventListener("input", edited);
    area.addEventListener("change", edited);
  }
  area.replaceChildren();
  const viewer = a.viewer || {};
  if (!viewer.can_change_status) return;
  const id = a.id;
  if (a.status !== "open") {
    const reason = el("input", {id: "reopen-reason", name: "reason", required: true});
    const reopen = el("form", {class: "inline-form", id: "reopen-form"},
      el("label", {for: "reopen-reason"}, gettext("Reason to reopen")), reason,
      el("button", {type: "submit"}, gettext("Reopen alert")));
    reopen.addEventListener("submit", async (e) => {
      e.preventDefault();
      const r = await api("POST", `/api/v1/alerts/${id}/status`, {to: "open", note: reason.value});
      if (!r.ok) { error.textContent = r.error.detail; reason.focus(); return; }
      forgetTyped(area);
      reload();
    });
    area.append(reopen);
  }
  const {select: tlp, meaning} = tlpSelect({name: "tlp", id: "change-tlp", value: a.tlp});
  const shared = el("select", {id: "change-shared", name: "shared_with", multiple: true, size: 4, class: "centre-select"});
  centres().then((list) => {
    for (const c of list) {
      if (c.code !== a.centre) shared.append(el("option", {value: c.code, selected: (a.shared_with || []).includes(c.code)}, c.code));
    }
    const chosen = typed.fields.get("change-shared");  // what the person had chosen before a redraw
    if (chosen) for (const o of shared.options) o.selected = chosen.includes(o.value);
  });
  const severity = el("select", {id: "change-severity", name: "severity"},
    ...["low", "medium", "high", "critical"].map((v) => el("option", {value: v, selected: v === a.severity}, label(v))));
  const description = el("textarea", {id: "change-description", name: "description", rows: 4}, a.description || "");
  const note = el("input", {id: "change-note", name: "note"});
  const form = el("form", {class: "stack-form", id: "change-form"},
    el("div", {class: "row"},
      el("div", {}, el("label", {for: "change-severity"}, gettext("Severity")), severity),
      el("div", {}, el("label", {for: "change-tlp"}, gettext("TLP marking")), tlp, meaning),
      el("div", {}, el("label", {for: "change-shared"}, gettext("Shared with")), shared)),
    el("label", {for: "change-description"}, gettext("Description (Markdown)")), description,
    el("label", {for: "change-note"}, gettext("Why (kept on the record)")), note,
    el("button", {type: "submit"}, gettext("Record the change")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const payload = {severity: severity.value, tlp: tlp.value, description: description.value, note: note.value,
      shared_with: ["clear", "green"].includes(tlp.value) ? [] : Array.from(shared.selectedOptions, (o) => o.value)};
    const r = await api("PATCH", `/api/v1/alerts/${id}`, payload);
    if (!r.ok) { error.textContent = r.error.detail; return; }
    error.textContent = "";
    forgetTyped(area);
    reload();
  });
  area.append(el("details", {class: "card"}, el("summary", {}, gettext("Change the alert")),
    el("p", {class: "muted"}, gettext("Each change is a new entry on the record; nothing already recorded is rewritten.")),
    form));
  restoreTyped(area, typed);
}
