// Support requests: the list with filters and saved views, the create form, and the request page
// (workflow buttons for the caller's allowed moves only, and one timeline of comments, changes and
// files: ticket_timeline.js), which refreshes when the notifications stream reports a change to this
// request. Every action's failure is shown next to the control that caused it, keeping what was typed.

import {renderOrigin} from "./origin.js";
import {renderSla, slaCell} from "./sla.js";
import {mergedTimeline, renderTimeline} from "./ticket_timeline.js";
import {tlpLabel, tlpSelect} from "./tlp.js";
import {$, $$, api, centreCode, el, fillCentreSelects, fmt, label, me, personName, setHtml, gettext, timeEl, clearFieldErrors, showFormError,
  showWithdrawn, withdrawnItems} from "./util.js";

function resultsOf(data) {
  if (Array.isArray(data)) return data;
  return (data && Array.isArray(data.results)) ? data.results : [];
}

const OPEN_STATUSES = "new,accepted,in_progress,waiting_for_requester,reopened";

/** Saved views are just filter presets, so they are bookmarkable (?view=…). */
function savedView(name, user) {
  if (name === "centre-open") return {centre: user.centre || "", status: OPEN_STATUSES};
  if (name === "overdue") return {overdue: "true"};
  if (name === "mine") return {assignee: "me"};
  return {};
}

// --- list ---------------------------------------------------------------------------------------
export async function startTicketList() {
  const user = me();
  const form = $("#ticket-filters");
  const rows = $("#ticket-rows");
  const more = $("#tickets-more");
  const params = new URLSearchParams(window.location.search);
  const view = params.get("view") || "";
  let filters = {...Object.fromEntries(params), ...savedView(view, user)};
  delete filters.view;
  for (const a of document.querySelectorAll(".saved-views a")) {
    if (a.dataset.view === view) a.setAttribute("aria-current", "page");
  }
  await fillCentreSelects(form);
  for (const [k, v] of Object.entries(filters)) if (form.elements[k] && !v.includes(",")) form.elements[k].value = v;
  let next = null;
  const withdrawn = withdrawnItems();

  async function load(append = false) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(filters)) if (v) q.set(k, v);
    q.set("limit", "50");
    if (append && next) q.set("cursor", next);
    const started = withdrawn.started();
    const r = await api("GET", `/api/v1/tickets?${q}`);
    if (!append) rows.replaceChildren();
    $("#tickets-error").textContent = r.ok ? "" : r.error.detail;
    if (!r.ok) return;
    next = r.data && r.data.next;
    more.hidden = !next;
    for (const k of resultsOf(r.data)) {
      if (!withdrawn.shows(k.id, started)) continue;  // withdrawn while this load was on its way
      const overdue = Boolean(k.overdue);
      rows.append(el("tr", {dataset: {ticketId: String(k.id)}, class: overdue ? "overdue" : ""},
        el("td", {}, el("a", {href: `/tickets/${k.id}/`}, k.reference || `#${k.id}`)),
        el("td", {}, el("a", {href: `/tickets/${k.id}/`}, k.title)),
        el("td", {}, centreCode(k.requesting_centre || k.centre)),
        el("td", {}, centreCode(k.target_centre) || gettext("any")),
        el("td", {}, label(k.priority)),
        el("td", {}, label(k.status)),
        el("td", {class: "sla-cell"}, ...slaCell(k))));
    }
    if (!rows.children.length) rows.append(el("tr", {}, el("td", {colspan: 7, class: "muted"}, gettext("No requests match."))));
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    filters = Object.fromEntries(new FormData(form));
    load();
  });
  more.addEventListener("click", () => load(true));
  document.addEventListener("hub:ticket", (e) => {
    if (e.detail.ticket) withdrawn.shown(e.detail.ticket.id);  // a frame about it: this person sees it again
    load();
  });
  // A request this person may no longer see leaves the list at once (no reload: its row goes), and a
  // load already on its way does not draw it again.
  document.addEventListener("hub:ticket-withdrawn", (e) => {
    withdrawn.withdraw(e.detail.id);
    rows.querySelector(`tr[data-ticket-id="${Number(e.detail.id)}"]`)?.remove();
    if (!rows.children.length) rows.append(el("tr", {}, el("td", {colspan: 7, class: "muted"}, gettext("No requests match."))));
  });
  document.addEventListener("hub:reconnected", () => load());  // catch up after a drop
  load();
}

// --- create -------------------------------------------------------------------------------------
export async function startTicketForm() {
  const form = $("#ticket-form");
  await fillCentreSelects(form);
  let {select: tlp, meaning} = tlpSelect({id: "t-tlp", value: "amber"});
  $("#t-tlp-wrap").replaceChildren(tlp, " ", meaning);
  // Templates: choosing one fills the form (placeholders already filled in for me by the API).
  const chooser = $("#t-template");
  const templates = await api("GET", "/api/v1/ticket-templates");
  const byId = new Map();
  for (const t of (templates.ok ? templates.data : [])) {
    byId.set(String(t.id), t);
    chooser.append(el("option", {value: String(t.id)}, `${t.name} (${t.centre})`));
  }
  function applyTemplate(id) {
    const t = byId.get(id);
    if (!t) return;
    form.title.value = t.filled.title;
    form.description.value = t.filled.description;
    form.category.value = t.category;
    form.priority.value = t.priority;
    if (t.target_centre && t.target_centre !== (me() || {}).centre) form.target_centre.value = t.target_centre;
    // The template's TLP is the request's default and floor (docs/tickets.md "Templates").
    ({select: tlp, meaning} = tlpSelect({id: "t-tlp", floor: t.tlp, value: t.tlp}));
    $("#t-tlp-wrap").replaceChildren(tlp, " ", meaning);
  }
  chooser.addEventListener("change", () => applyTemplate(chooser.value));
  const asked = new URLSearchParams(window.location.search).get("template");
  if (asked && byId.has(asked)) { chooser.value = asked; applyTemplate(asked); }
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const error = $("#ticket-form-error");
    error.textContent = "";
    clearFieldErrors(form);
    const payload = {
      title: form.title.value.trim(),
      description: form.description.value,
      category: form.category.value,
      priority: form.priority.value,
      target_centre: form.target_centre.value || null,
      tlp: tlp.value,
    };
    if (chooser.value) payload.template = Number(chooser.value);
    if (!payload.title) {
      form.title.setAttribute("aria-invalid", "true");
      error.textContent = gettext("A title is required.");
      form.title.focus();
      return;
    }
    if (!payload.category) {  // asked for, never assumed (it defaulted to security)
      showFormError(form, error, {detail: gettext("Choose the request's category."), fields: ["category"]});
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    const r = await api("POST", "/api/v1/tickets", payload);
    button.disabled = false;
    if (r.ok) {
      const ticket = (r.data && r.data.ticket) || r.data;
      window.location.href = `/tickets/${ticket.id}/`;
      return;
    }
    showFormError(form, error, r.error);
  });
  form.dataset.ready = "true";  // the script handles the form from here (tests wait for it)
}

// --- detail -------------------------------------------------------------------------------------
const MOVE_LABELS = {
  accepted: "Accept", in_progress: "Start work", waiting_for_requester: "Ask the requester",
  resolved: "Mark resolved", closed: "Confirm and close", rejected: "Reject", reopened: "Reopen",
};
void [gettext("Accept"), gettext("Start work"), gettext("Ask the requester"), gettext("Mark resolved"), gettext("Confirm and close"), gettext("Reject"), gettext("Reopen")];

/** A refused action's error next to the control that caused it (`box`), in the caller's language
 * (the API answers in the page's: util.api); with `form`, each field it names is marked too. What was
 * typed stays. A conflict (someone else changed the request meanwhile) also reloads the request, so
 * the page shows what it is now while the error says why the action did not happen. */
function fail(box, error, {form = null, locate, reload = null} = {}) {
  if (form) showFormError(form, box, error, locate);
  else box.textContent = (error && error.detail) || gettext("Something went wrong.");
  if (reload && error && ["conflict", "stale"].includes(error.code)) reload();
}

/** Hide an action's form when it no longer applies — unless it holds a refusal: then what was typed
 * and why it was refused stay in view (a request merged meanwhile hides the comment form otherwise). */
function showIf(node, applies) {
  node.hidden = !applies && !node.querySelector(".error:not(:empty)");
}

function succeeded(box, form = null) {
  box.textContent = "";
  if (form) clearFieldErrors(form);
}

function renderMergeState(k) {
  const banner = $("#ticket-merged");
  if (k.merged_into) {
    banner.replaceChildren(gettext("This request was merged into another one and is read-only: "),
      el("a", {href: `/tickets/${k.merged_into}/`, id: "merged-into-link"}, fmt(gettext("request #%(id)s"), {id: k.merged_into})));
    banner.hidden = false;
  } else banner.hidden = true;
  const from = new URLSearchParams(window.location.search).get("merged_from");
  const source = from && (k.merged_from || []).find((m) => String(m.id) === from);
  const here = $("#ticket-merged-here");
  if (source) {
    here.textContent = fmt(gettext("%(reference)s was merged into this request."), {reference: source.reference});
    here.hidden = false;
  } else here.hidden = true;
  showIf($("#merge-section"), Boolean(k.permissions && k.permissions.merge) && !k.merged_into);
  for (const form of ["#comment-form", "#attach-form"]) showIf($(form), !k.merged_into);
}

function renderLinks(k) {
  const links = k.links || [];
  $("#ticket-links").replaceChildren(...links.map((l) => {
    const target = l.ticket
      ? el("a", {href: l.ticket.url}, `${l.ticket.reference} ${l.ticket.title}`)
      : el("a", {href: l.alert.url}, fmt(gettext("alert #%(id)s"), {id: l.alert.id}), " ", l.alert.title);
    const remove = (k.permissions && k.permissions.link && l.kind !== "split_from")
      ? el("button", {type: "button", class: "link-button remove-link", dataset: {linkId: String(l.id)}}, gettext("Remove"))
      : "";
    return el("li", {dataset: {linkId: String(l.id)}}, el("span", {class: "tag"}, l.label), " ", target, " ", remove);
  }));
  if (!links.length) $("#ticket-links").append(el("li", {class: "muted"}, gettext("No links.")));
  showIf($("#link-form"), Boolean(k.permissions && k.permissions.link));
}

function renderMergedFrom(k) {
  const merged = k.merged_from || [];
  $("#merged-from-section").hidden = !merged.length;
  $("#ticket-merged-from").replaceChildren(...merged.map((m) => el("details", {class: "card", open: true, dataset: {ticketId: String(m.id)}},
    el("summary", {}, el("a", {href: `${m.url}?stay=1`}, m.reference), ` ${m.title} (${m.requesting_centre})`),
    mergedTimeline(m))));
}

/** "Assign to …": any colleague of the target centre the caller may choose (managers), from
 * GET /api/v1/tickets/{id}/assignees; nothing when that is only the caller (the button does it). */
async function renderAssignTo(k, moves, reload) {
  const r = await api("GET", `/api/v1/tickets/${k.id}/assignees`);
  const me_ = me();
  const people = (r.ok && Array.isArray(r.data) ? r.data : []).filter((p) => p.username !== (me_ && me_.username));
  const existing = document.getElementById("assign-to");
  if (!people.length) { if (existing) existing.remove(); return; }
  // Redrawn with the request (a live change): the person chosen but not yet assigned stays chosen.
  const chosen = existing ? existing.querySelector("select").value : null;
  if (existing) existing.remove();
  const select = el("select", {id: "assign-to-person", "aria-label": gettext("Colleague to assign")},
    ...people.map((p) => el("option", {value: p.username}, personName(p))));
  if (chosen && people.some((p) => p.username === chosen)) select.value = chosen;
  else if (k.assignee) select.value = k.assignee.username;
  const button = el("button", {type: "button"}, gettext("Assign"));
  const box = el("span", {id: "assign-to", class: "assign-to"}, select, " ", button);
  button.addEventListener("click", async () => {
    button.disabled = true;
    const res = await api("POST", `/api/v1/tickets/${k.id}/assign`, {username: select.value, version: k.version});
    button.disabled = false;
    if (!res.ok) { fail($("#ticket-error"), res.error, {reload}); return; }
    succeeded($("#ticket-error"));
    reload();
  });
  const muted = moves.querySelector("p.muted");
  if (muted) muted.remove();
  moves.append(box);
}

const PRIORITIES = ["low", "normal", "high", "urgent"];

export function startTicketDetail(root) {
  const id = Number(root.dataset.ticketId);
  const user = me();
  let current = null;
  let commentTlp = null; // the comment form's TLP chooser, no looser than the request's marking
  let withdrawn = false;  // no longer this person's to see: nothing of it is shown again

  async function load(reason) {
    if (withdrawn) return;
    const r = await api("GET", `/api/v1/tickets/${id}`);
    if (withdrawn) return;  // withdrawn while this was on its way
    root.setAttribute("aria-busy", "false");
    if (!r.ok) { fail($("#ticket-error"), r.error); return; }
    current = (r.data && r.data.ticket) || r.data;
    render(current);
    import("./ticket_seen.js").then((m) => m.showCommentSeen(id));
    if (reason) $("#ticket-live").textContent = reason;
  }
  const reload = () => load();

  // After one's own move the buttons are drawn anew: the focus goes to the next step (or the section),
  // not back to the top of the page, so a keyboard user goes on from there.
  let focusMoves = false;

  function render(k) {
    $("#ticket-ref").textContent = k.reference || `#${k.id}`;
    $("#ticket-title").textContent = k.title;
    $("#ticket-status").textContent = label(k.status);
    $("#ticket-status").dataset.status = k.status;
    $("#ticket-tlp").replaceChildren(tlpLabel(k.tlp));
    renderOrigin($("#ticket-origin"), k.promoted_from);
    if (!commentTlp || commentTlp.floor !== k.tlp) {
      commentTlp = {floor: k.tlp, ...tlpSelect({id: "comment-tlp", floor: k.tlp || "clear"})};
      $("#comment-tlp-wrap").replaceChildren(commentTlp.select, " ", commentTlp.meaning);
    }
    $("#ticket-meta").replaceChildren(
      fmt(gettext("From %(from)s to %(to)s"), {from: centreCode(k.requesting_centre || k.centre), to: centreCode(k.target_centre) || gettext("any centre")}),
      " · ", label(k.category), " · ", el("span", {id: "ticket-priority", dataset: {priority: k.priority}}, label(k.priority)),
      k.assignee ? ` · ${fmt(gettext("assigned to %(who)s"), {who: personName(k.assignee)})}` : "",
      "");
    renderSla($("#ticket-sla"), k);
    setHtml($("#ticket-description"), k.description_html || k.html || "");
    const moves = $("#ticket-moves");
    const assignTo = document.getElementById("assign-to");  // kept across the redraw (what was chosen)
    // A redraw (one's own move, or a live one) keeps the focus in "Next steps": on the same button
    // when it is still offered, else on the first.
    const focusedTo = moves.contains(document.activeElement) ? (document.activeElement.dataset.to || "") : null;
    if (focusedTo !== null) focusMoves = true;
    moves.replaceChildren();
    const allowed = (k.allowed_transitions || []).map((m) => (typeof m === "string" ? m : m.to));
    for (const to of allowed) {
      const button = el("button", {type: "button", class: to === "rejected" ? "danger" : "primary", dataset: {to}},
        MOVE_LABELS[to] ? gettext(MOVE_LABELS[to]) : label(to));
      button.addEventListener("click", () => move(to, button));
      moves.append(button);
    }
    const mine = k.assignee && k.assignee.username === user.username;
    // Only what applies: nobody takes a request that is resolved or final.
    const open = !["closed", "rejected", "resolved", "merged"].includes(k.status);
    if (assignTo && k.permissions && k.permissions.assign && open) moves.append(assignTo);
    if (k.permissions && k.permissions.assign && open) renderAssignTo(k, moves, reload);
    if (k.permissions && k.permissions.assign && !mine && open) {
      const take = el("button", {type: "button", id: "assign-me"}, gettext("Assign to me"));
      take.addEventListener("click", async () => {
        take.disabled = true;
        const r = await api("POST", `/api/v1/tickets/${id}/assign`, {username: user.username, version: k.version});
        take.disabled = false;
        if (!r.ok) { fail($("#ticket-error"), r.error, {reload}); return; }
        succeeded($("#ticket-error"));
        load();
      });
      moves.append(take);
    }
    if (!moves.children.length) moves.append(el("p", {class: "muted"}, gettext("There is nothing for you to do on this request now.")));
    renderPriority(k, open);
    if (focusMoves) {
      focusMoves = false;
      const next = (focusedTo && moves.querySelector(`button[data-to="${focusedTo}"]:not([disabled])`))
        || moves.querySelector("button:not([disabled])");
      if (next) next.focus();
      else { $("#h-moves").tabIndex = -1; $("#h-moves").focus(); }
    }
    const splittable = Boolean(k.permissions && k.permissions.split);
    const picked = new Set($$(".split-pick:checked").map((box) => box.value));  // a live redraw keeps the choice
    renderTimeline($("#ticket-timeline"), k, {splittable});
    for (const box of $$(".split-pick")) box.checked = picked.has(box.value);
    showIf($("#split-form"), splittable && (k.comments || []).some((c) => !c.internal));
    renderMergeState(k);
    renderLinks(k);
    renderMergedFrom(k);
    $("#internal-wrap").hidden = !(k.permissions && k.permissions.comment_internally);
    const watchers = k.watchers || [];
    $("#ticket-watchers").textContent = watchers.length ? watchers.map(personName).join(", ") : "—";
    const watching = watchers.some((w) => w.username === user.username);
    const toggle = $("#watch-toggle");
    toggle.textContent = watching ? gettext("Stop watching") : gettext("Watch this request");
    toggle.dataset.watching = String(watching);
    const thread = $("#ticket-thread");
    if (k.thread_url) { thread.href = k.thread_url; thread.hidden = false; } else thread.hidden = true;
  }

  /** The priority chooser (either side, while the request is open); a choice not yet saved stays. */
  function renderPriority(k, open) {
    const form = $("#priority-form");
    showIf(form, Boolean(k.permissions && k.permissions.edit && open));
    const select = $("#priority-select");
    if (!select.options.length) {
      for (const p of PRIORITIES) select.append(el("option", {value: p}, label(p)));
      select.addEventListener("change", () => { select.dataset.dirty = "true"; });
    }
    if (select.dataset.dirty !== "true") select.value = k.priority;
  }

  $("#priority-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const select = $("#priority-select");
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    const r = await api("PATCH", `/api/v1/tickets/${id}`, {priority: select.value, version: current && current.version});
    button.disabled = false;
    if (!r.ok) { fail($("#priority-error"), r.error, {form, reload}); return; }
    succeeded($("#priority-error"), form);
    delete select.dataset.dirty;
    load();
  });

  async function move(to, button) {
    button.disabled = true;
    const note = $("#move-note").value;
    const body = {to, note};
    if (current && current.version !== undefined) body.version = current.version; // refuse a stale move
    const r = await api("POST", `/api/v1/tickets/${id}/transition`, body);
    button.disabled = false;
    if (!r.ok) { fail($("#ticket-error"), r.error, {reload}); button.focus(); return; }
    succeeded($("#ticket-error"));
    $("#move-note").value = "";
    focusMoves = true;
    load();
  }

  $("#watch-toggle").addEventListener("click", async (e) => {
    const button = e.currentTarget;
    button.disabled = true;
    const r = button.dataset.watching === "true"
      ? await api("DELETE", `/api/v1/tickets/${id}/watchers/me`)
      : await api("POST", `/api/v1/tickets/${id}/watchers`, {});
    button.disabled = false;
    if (!r.ok) { fail($("#watch-error"), r.error, {reload}); return; }
    succeeded($("#watch-error"));
    load();
  });

  $("#comment-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const area = $("#comment-body");
    const body = area.value;
    if (!body.trim()) return;
    const button = e.target.querySelector("button[type=submit]");
    button.disabled = true; // one comment at a time: the text box is cleared only for what was sent
    area.readOnly = true;
    const payload = {body, internal: $("#comment-internal").checked};
    if (commentTlp) payload.tlp = commentTlp.select.value;
    if ($("#comment-scope").value === "own") payload.shared_with = [];
    const r = await api("POST", `/api/v1/tickets/${id}/comments`, payload);
    button.disabled = false;
    area.readOnly = false;
    // A refused comment stays in the box, its error under the form that sent it.
    if (!r.ok) {
      fail($("#comment-form-error"), r.error, {form: $("#comment-form"), locate: (f) => (f === "body" ? area : null), reload});
      return;
    }
    succeeded($("#comment-form-error"), $("#comment-form"));
    area.value = "";
    $("#comment-internal").checked = false;
    $("#comment-scope").value = "all";
    load();
  });

  $("#merge-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const into = $("#merge-into").value.trim();
    if (!into) return;
    if (!window.confirm(fmt(gettext("Merge this request into %(into)s? It becomes read-only."), {into}))) return;
    const body = {into: /^\d+$/.test(into) ? Number(into) : into};
    if (current && current.version !== undefined) body.version = current.version;
    const r = await api("POST", `/api/v1/tickets/${id}/merge`, body);
    if (!r.ok) { fail($("#merge-error"), r.error, {form, reload}); return; }
    window.location.href = `/tickets/${r.data.id}/?merged_from=${id}`;
  });

  $("#link-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const target = $("#link-target").value.trim();
    if (!target) return;
    const payload = {kind: $("#link-kind").value};
    if ($("#link-what").value === "alert") payload.alert = Number(target.replace(/^#/, "")) || 0;
    else payload.ticket = target;
    const r = await api("POST", `/api/v1/tickets/${id}/links`, payload);
    // The API names `ticket` or `alert`; both are the one box on the form.
    if (!r.ok) { fail($("#link-error"), r.error, {form, locate: (f) => (["ticket", "alert"].includes(f) ? $("#link-target") : null), reload}); return; }
    succeeded($("#link-error"), form);
    $("#link-target").value = "";
    current = r.data;
    render(current);
  });

  $("#ticket-links").addEventListener("click", async (e) => {
    const button = e.target.closest(".remove-link");
    if (!button) return;
    const r = await api("DELETE", `/api/v1/tickets/${id}/links/${button.dataset.linkId}`);
    if (!r.ok) { fail($("#link-error"), r.error, {reload}); return; }
    succeeded($("#link-error"));
    current = r.data;
    render(current);
  });

  $("#split-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const chosen = $$(".split-pick:checked").map((box) => Number(box.value));
    const title = $("#split-title").value.trim();
    if (!chosen.length || !title) {
      $("#split-error").textContent = gettext("Choose the comments and give the new request a title.");
      return;
    }
    const r = await api("POST", `/api/v1/tickets/${id}/split`, {comments: chosen, title});
    if (!r.ok) { fail($("#split-error"), r.error, {form, locate: (f) => (f === "title" ? $("#split-title") : null), reload}); return; }
    window.location.href = `/tickets/${r.data.id}/`;
  });

  $("#attach-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const input = $("#attach-file");
    if (!input.files.length) return;
    const data = new FormData();
    data.append("file", input.files[0]);
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    const r = await api("POST", `/api/v1/tickets/${id}/attachments`, data, {form: true});
    button.disabled = false;
    if (!r.ok) { fail($("#attach-error"), r.error, {form, locate: (f) => (f === "file" ? input : null), reload}); return; }
    succeeded($("#attach-error"), form);
    input.value = "";
    load();
  });

  document.addEventListener("hub:ticket", (e) => {
    const k = e.detail.ticket;
    if (!k || Number(k.id) !== id) return;
    const ev = e.detail.event || {};
    load(fmt(gettext("Updated just now: %(who)s %(event)s."), {who: personName(ev.actor), event: label(ev.kind || k.status)}));
  });
  // Its readers shrank past this person: the page stops showing it and says why.
  document.addEventListener("hub:ticket-withdrawn", (e) => {
    if (Number(e.detail.id) !== id || withdrawn) return;
    withdrawn = true;
    current = null;
    showWithdrawn(root, gettext("This request is no longer visible to you."), "/tickets/", gettext("All requests"));
  });
  document.addEventListener("hub:reconnected", () => load());  // catch up after a drop
  load();
}
