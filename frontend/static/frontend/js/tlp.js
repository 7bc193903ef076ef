// TLP 2.0 labels and choosers, the same on every page (messages, alerts, requests, comments).
//
// The vocabulary — FIRST's labels, colours and meanings in the page's language — comes from the
// server (hub/sharing.py, `<script id="tlp-vocabulary">` in every signed-in page), so no marking is
// spelled out here. A label is FIRST's: the marking's colour on black, its meaning as the title.

import {centres, el, fmt, gettext} from "./util.js";

const FALLBACK = ["clear", "green", "amber", "amber+strict", "red"].map((value) => ({
  value, label: `TLP:${value.toUpperCase()}`, colour: "#FFFFFF", meaning: "",
}));

let vocabulary = null;

/** The markings, loosest first: [{value, label, colour, meaning}]. */
export function markings() {
  if (!vocabulary) {
    const node = document.getElementById("tlp-vocabulary");
    try { vocabulary = node ? JSON.parse(node.textContent) : FALLBACK; } catch (e) { vocabulary = FALLBACK; }
  }
  return vocabulary;
}

const rank = (value) => markings().findIndex((m) => m.value === value);

/** TLP:AMBER in FIRST's colours; `scope` (centre codes) is shown after it when given. */
export function tlpLabel(value, {scope = null} = {}) {
  const marking = markings().find((m) => m.value === value) || {label: `TLP:${String(value || "?").toUpperCase()}`,
    meaning: ""};
  const label = el("span", {class: `tlp-label tlp-${String(value).replace("+", "-")}`, title: marking.meaning,
    dataset: {tlp: value || ""}}, marking.label);
  if (!Array.isArray(scope)) return label;
  const who = scope.length ? fmt(gettext("only %(centres)s"), {centres: scope.join(", ")}) : gettext("only the author's centre");
  return el("span", {class: "tlp-scope"}, label, " ", el("span", {class: "muted"}, who));
}

/** A <select> of the markings no looser than `floor`, each with its meaning; `value` preselected. */
export function tlpSelect({name = "tlp", id = null, floor = "clear", value = null} = {}) {
  const select = el("select", {name, id, class: "tlp-select"});
  for (const m of markings()) {
    if (rank(m.value) < rank(floor)) continue;
    select.append(el("option", {value: m.value, title: m.meaning, selected: m.value === (value || floor)}, m.label));
  }
  const meaning = el("span", {class: "tlp-meaning muted", "aria-live": "polite"});
  const show = () => {
    const m = markings().find((x) => x.value === select.value);
    meaning.textContent = m ? m.meaning : "";
    select.className = `tlp-select tlp-${select.value.replace("+", "-")}`;
  };
  select.addEventListener("change", show);
  show();
  return {select, meaning};
}

/**
 * The composer's marking: a TLP chooser no looser than the topic's default and a sharing scope
 * ("everyone in this topic", "only my centre", or named centres). `value()` is what message.send
 * carries: {tlp, shared_with}.
 */
export function markingChooser(root, {floor = "clear", centreCode = null, scopeLabel = null} = {}) {
  const tlpId = `${root.id || "marking"}-tlp`;
  const scopeId = `${root.id || "marking"}-scope`;
  const {select: tlp, meaning} = tlpSelect({id: tlpId, floor});
  // The meaning describes the chooser, so a screen reader says it with the choice (on a phone the
  // line is cut to one line until the chooser has the focus, hub.css).
  meaning.id = `${tlpId}-meaning`;
  tlp.setAttribute("aria-describedby", meaning.id);
  const scope = el("select", {id: scopeId, name: "scope"},
    el("option", {value: "all"}, scopeLabel || gettext("Everyone in this topic")),
    el("option", {value: "own"}, centreCode ? fmt(gettext("Only my centre (%(centre)s)"), {centre: centreCode})
      : gettext("Only my centre")),
    el("option", {value: "named"}, gettext("Named centres…")));
  const named = el("select", {name: "shared_with", multiple: true, size: 4, class: "centre-select",
    "aria-label": gettext("Share with these centres (besides yours)"), hidden: true});
  centres().then((list) => {
    for (const c of list || []) {
      if (c.code !== centreCode) named.append(el("option", {value: c.code}, `${c.code} — ${c.name_vi || c.code}`));
    }
  });
  scope.addEventListener("change", () => { named.hidden = scope.value !== "named"; });
  root.replaceChildren(
    el("label", {for: tlpId}, gettext("Marking")), tlp,
    el("label", {for: scopeId}, gettext("Who reads it")), scope, named, meaning);
  return {
    value() {
      let sharedWith = null;
      if (scope.value === "own") sharedWith = [];
      else if (scope.value === "named") sharedWith = Array.from(named.selectedOptions, (o) => o.value);
      return {tlp: tlp.value, shared_with: sharedWith};
    },
    reset() { /* the marking stays for the next message, as people talk in one register */ },
    elements: {tlp, scope, named},
  };
}
