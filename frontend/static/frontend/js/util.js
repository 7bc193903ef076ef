// Small helpers shared by every page: translation, DOM building, the JSON API, dates.
// Nothing here builds HTML from strings: text goes through textContent, and only HTML the server
// sanitised (the `html` fields of the API) is ever assigned to innerHTML, in one place (setHtml).

const catalog = window.gettext ? window : {
  gettext: (s) => s,
  ngettext: (s, p, n) => (n === 1 ? s : p),
  interpolate: (fmt, obj, named) => (named
    ? fmt.replace(/%\((\w+)\)s/g, (_, k) => String(obj[k]))
    : fmt.replace(/%s/g, () => String(obj.shift()))),
};

export const gettext = (s) => catalog.gettext(s);
export const ngettext = (s, p, n) => catalog.ngettext(s, p, n);
/** fmt("%(name)s is typing", {name}) — named interpolation of a translated string. */
export const fmt = (s, values) => catalog.interpolate(s, values, true);

/** el("a", {href: "/x", class: "y"}, "text", child) → an element; children are text or nodes. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** The one place server-sanitised HTML (bleach allow-list, hub/lib/rendering.py) enters the page. */
export function setHtml(node, sanitisedHtml) {
  node.innerHTML = sanitisedHtml || "";
  for (const a of node.querySelectorAll("a[href^='http']")) a.rel = "nofollow noopener noreferrer";
  return node;
}

/**
 * An item's page whose item the person may no longer see (its marking tightened: "alert.withdrawn",
 * "ticket.withdrawn"): everything it showed gives way to `text` and a link back to the list, which
 * takes the focus (a screen reader hears why the page emptied). Returns the notice.
 */
export function showWithdrawn(root, text, backHref, backText) {
  const notice = el("p", {class: "notice withdrawn", role: "status", tabindex: "-1", dataset: {testid: "withdrawn"}}, text);
  root.replaceChildren(notice, el("p", {}, el("a", {href: backHref}, backText)));
  root.setAttribute("aria-busy", "false");
  notice.focus();
  return notice;
}

/**
 * A list page's memory of the items withdrawn from it ("alert.withdrawn", "ticket.withdrawn"): a load
 * of the list already on its way when the withdrawal arrived answers from before it, and would draw
 * the row again. Each load takes a number as it leaves (`started()`); `shows(id, load)` says whether
 * that load may draw the item — not if the item was withdrawn after the load left. A load that left
 * after the withdrawal (the server's word since) or a frame about the item (`shown(id)`: only its
 * readers get one) makes it visible again.
 */
export function withdrawnItems() {
  let loads = 0;
  const gone = new Map();  // id → the number of the last load started before its withdrawal
  return {
    started: () => ++loads,
    withdraw: (id) => { gone.set(Number(id), loads); },
    shown: (id) => { gone.delete(Number(id)); },
    shows(id, load) {
      const before = gone.get(Number(id));
      if (before === undefined) return true;
      if (load <= before) return false;
      gone.delete(Number(id));
      return true;
    },
  };
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

export function me() {
  const node = document.getElementById("hub-user");
  return node ? JSON.parse(node.textContent) : null;
}

function csrfToken() {
  const meta = document.querySelector("meta[name='csrf-token']");
  if (meta && meta.content) return meta.content;
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

/**
 * api("POST", "/api/v1/...", body) → {ok, status, data, error}. Never throws: a network failure is
 * {ok: false, status: 0}. `error` is the contract's {"code","detail"} (or a local one).
 */
export async function api(method, url, body, {form = false} = {}) {
  // The page's own language: the API honours Accept-Language first (hub/i18n.py), and the browser's
  // default one must not outvote the language the person chose for the hub.
  const headers = {"Accept": "application/json", "Accept-Language": document.documentElement.lang || "vi"};
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  let payload;
  if (form) payload = body;
  else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, {method, headers, body: payload, credentials: "same-origin"});
  } catch (e) {
    return {ok: false, status: 0, data: null, error: {code: "network", detail: gettext("The network is unavailable.")}};
  }
  let data = null;
  try { data = await response.json(); } catch (e) { data = null; }
  const error = response.ok ? null : ((data && data.error) || {code: String(response.status), detail: response.statusText});
  return {ok: response.ok, status: response.status, data, error};
}

/** The hub's time zone (Asia/Ho_Chi_Minh; `<html data-time-zone>`): every time shown is local to the
 * centres, whatever the browser's own zone (a laptop left on UTC showed UTC). */
export function hubTimeZone() {
  return document.documentElement.dataset.timeZone || "Asia/Ho_Chi_Minh";
}

export function formatTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const lang = document.documentElement.lang || "vi";
  const timeZone = hubTimeZone();
  const day = (x) => x.toLocaleDateString("en-CA", {timeZone});
  return day(d) === day(new Date())
    ? d.toLocaleTimeString(lang, {hour: "2-digit", minute: "2-digit", timeZone})
    : d.toLocaleString(lang, {year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", timeZone});
}

/** The full local date and time with its zone, for a time's tooltip (never the raw UTC value). */
export function fullTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const lang = document.documentElement.lang || "vi";
  return d.toLocaleString(lang, {dateStyle: "full", timeStyle: "long", timeZone: hubTimeZone()});
}

export function timeEl(iso) {
  return el("time", {datetime: iso || "", title: fullTime(iso)}, formatTime(iso));
}

/** Names of choices the server sends as codes (statuses, severities…), translated. */
const LABELS = {
  low: "Low", medium: "Medium", high: "High", critical: "Critical", normal: "Normal", urgent: "Urgent",
  new: "New", accepted: "Accepted", in_progress: "In progress", waiting_for_requester: "Waiting for requester",
  resolved: "Resolved", reopened: "Reopened", closed: "Closed", rejected: "Rejected", open: "Open",
  mitigated: "Mitigated", pending: "Pending", acknowledged: "Acknowledged", raised: "Raised",
  escalated: "Escalated", status_changed: "Status changed",
  created: "created", transition: "status changed", field: "field changed", assigned: "assigned",
  comment: "commented", attachment: "attached a file", watcher_added: "watcher added", watcher_removed: "watcher removed",
  merged: "Merged", merged_from: "took in a duplicate request", split: "split into a new request",
  link_added: "link added", link_removed: "link removed",
  security: "Information security", software: "Software development", training: "Training and certification",
  consulting: "Project consulting", communications: "Communications", events: "Events and workshops", other: "Other",
  // indicator types (alerts.models.IndicatorType)
  ipv4: "IPv4 address", ipv6: "IPv6 address", domain: "Domain", url: "URL", hash: "File hash", cve: "CVE id",
  email: "Email address",
};
void [gettext("IPv4 address"), gettext("IPv6 address"), gettext("Domain"), gettext("URL"), gettext("File hash"),
  gettext("CVE id"), gettext("Email address")];
// The literal calls let makemessages find the strings.
void [gettext("Low"), gettext("Medium"), gettext("High"), gettext("Critical"), gettext("Normal"), gettext("Urgent"), gettext("New"), gettext("Accepted"),
  gettext("In progress"), gettext("Waiting for requester"), gettext("Resolved"), gettext("Reopened"), gettext("Closed"), gettext("Rejected"),
  gettext("Open"), gettext("Mitigated"), gettext("Pending"), gettext("Acknowledged"), gettext("Raised"), gettext("Escalated"), gettext("Status changed"),
  gettext("created"), gettext("status changed"), gettext("field changed"), gettext("assigned"), gettext("commented"),
  gettext("attached a file"), gettext("watcher added"), gettext("watcher removed"), gettext("Information security"),
  gettext("Software development"), gettext("Training and certification"), gettext("Project consulting"), gettext("Communications"),
  gettext("Events and workshops"), gettext("Other"), gettext("Merged"), gettext("took in a duplicate request"),
  gettext("split into a new request"), gettext("link added"), gettext("link removed")];

export function label(code) {
  if (code === null || code === undefined) return "";
  if (typeof code === "object") return code.display_name || code.username || code.name || JSON.stringify(code);
  return LABELS[code] ? gettext(LABELS[code]) : String(code);
}

/** The centre code of a value the API sends either as a code or as a {code, …} object. */
export function centreCode(value) {
  if (!value) return "";
  return typeof value === "string" ? value : (value.code || "");
}

/** A user object or username → a display string. */
export function personName(value) {
  if (!value) return "";
  if (typeof value === "string") return value;
  return value.display_name || value.username || "";
}

let centresPromise = null;
/** Every centre (cached for the page): [{code, name_vi, name_en, …}]. */
export function centres() {
  if (!centresPromise) {
    centresPromise = api("GET", "/api/v1/centres").then((r) => (r.ok && Array.isArray(r.data) ? r.data : []));
  }
  return centresPromise;
}

export function centreName(centre) {
  const en = (document.documentElement.lang || "vi").startsWith("en");
  return (en ? centre.name_en : centre.name_vi) || centre.code;
}

/** Fill every <select class="centre-select"> with the centres (keeping the first, "any", option). */
export async function fillCentreSelects(root = document) {
  const list = await centres();
  for (const select of $$("select.centre-select", root)) {
    const wanted = select.dataset.value || select.value;
    for (const c of list) select.append(el("option", {value: c.code}, `${c.code} — ${centreName(c)}`));
    if (wanted) select.value = wanted;
  }
}

/** Copy text to the clipboard; false when the browser refuses (no permission, not a secure page). */
export async function copyText(text) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch (e) { /* fall back below */ }
  const area = el("textarea", {class: "visually-hidden", readonly: true, "aria-hidden": "true"});
  area.value = text;
  document.body.append(area);
  area.select();
  let done = false;
  try { done = document.execCommand("copy"); } catch (e) { done = false; }
  area.remove();
  return done;
}

/**
 * A modal question (the browser's <dialog>: focus stays inside, Escape cancels) → Promise<boolean>.
 * Used instead of window.confirm, which cannot be styled, translated buttons or read well on phones.
 */
export function confirmDialog(text, confirmLabel, {danger = true} = {}) {
  return new Promise((resolve) => {
    const id = `confirm-${Date.now()}`;
    const yes = el("button", {type: "submit", value: "yes", class: danger ? "danger" : "primary"}, confirmLabel);
    const dialog = el("dialog", {class: "confirm-dialog", "aria-labelledby": id},
      el("form", {method: "dialog"},
        el("p", {id}, text),
        el("div", {class: "dialog-actions"},
          el("button", {type: "submit", value: "no", class: "secondary"}, gettext("Cancel")), yes)));
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "yes");
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
    yes.focus();
  });
}

/** Icons shared by every page (24×24 paths, Material Icons, Apache-2.0); use icon(name). */
export const ICONS = {
  quote: "M6 17h3l2-4V7H5v6h3zm8 0h3l2-4V7h-6v6h3z",
  link: "M3.9 12c0-1.71 1.39-3.1 3.1-3.1h4V7H7a5 5 0 0 0 0 10h4v-1.9H7c-1.71 0-3.1-1.39-3.1-3.1zM8 13h8v-2H8v2zm9-6h-4v1.9h4c1.71 0 3.1 1.39 3.1 3.1s-1.39 3.1-3.1 3.1h-4V17h4a5 5 0 0 0 0-10z",
  edit: "M3 17.25V21h3.75L17.81 9.94l-3.75-3.75L3 17.25zM20.71 7.04a1 1 0 0 0 0-1.41l-2.34-2.34a1 1 0 0 0-1.41 0l-1.83 1.83 3.75 3.75 1.83-1.83z",
  trash: "M6 19a2 2 0 0 0 2 2h8a2 2 0 0 0 2-2V7H6v12zM19 4h-3.5l-1-1h-5l-1 1H5v2h14V4z",
  more: "M6 10a2 2 0 1 0 0 4 2 2 0 0 0 0-4zm12 0a2 2 0 1 0 0 4 2 2 0 0 0 0-4zm-6 0a2 2 0 1 0 0 4 2 2 0 0 0 0-4z",
  reply: "M10 9V5l-7 7 7 7v-4.1c5 0 8.5 1.6 11 5.1-1-5-4-10-11-11z",
  pin: "M16 9V4h1V2H7v2h1v5c0 1.66-1.34 3-3 3v2h5.97v7l1 1 1-1v-7H19v-2c-1.66 0-3-1.34-3-3z",
  react: "M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm0 18a8 8 0 1 1 0-16 8 8 0 0 1 0 16zm3.5-9a1.5 1.5 0 1 0 0-3 1.5 1.5 0 0 0 0 3zm-7 0a1.5 1.5 0 1 0 0-3 1.5 1.5 0 0 0 0 3zm3.5 6.5c2.33 0 4.31-1.46 5.11-3.5H6.89c.8 2.04 2.78 3.5 5.11 3.5z",
  promote: "M9 5v2h6.59L4 18.59 5.41 20 17 8.41V15h2V5z",
  alert: "M1 21h22L12 2 1 21zm12-3h-2v-2h2v2zm0-4h-2v-4h2v4z",
  ticket: "M19 3h-4.18C14.4 1.84 13.3 1 12 1s-2.4.84-2.82 2H5a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h14a2 2 0 0 0 2-2V5a2 2 0 0 0-2-2zm-7 0a1 1 0 1 1 0 2 1 1 0 0 1 0-2zm2 14H7v-2h7v2zm3-4H7v-2h10v2zm0-4H7V7h10v2z",
  attach: "M16.5 6v11.5a4 4 0 0 1-8 0V5a2.5 2.5 0 0 1 5 0v10.5a1 1 0 0 1-2 0V6H10v9.5a2.5 2.5 0 0 0 5 0V5a4 4 0 0 0-8 0v12.5a5.5 5.5 0 0 0 11 0V6h-1.5z",
  menu: "M3 18h18v-2H3v2zm0-5h18v-2H3v2zm0-7v2h18V6H3z",
  forum: "M21 6h-2v9H6v2c0 .55.45 1 1 1h11l4 4V7c0-.55-.45-1-1-1zm-4 6V3c0-.55-.45-1-1-1H3c-.55 0-1 .45-1 1v14l4-4h10c.55 0 1-.45 1-1z",
};

/** An inline SVG icon (aria-hidden: the button or link around it carries the accessible name); `extra`
 * adds classes (e.g. "phone-only"). */
export function icon(name, size = 18, extra = "") {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  for (const [k, v] of Object.entries({viewBox: "0 0 24 24", width: size, height: size, "aria-hidden": "true",
    focusable: "false", class: extra ? `icon ${extra}` : "icon"})) svg.setAttribute(k, String(v));
  const path = document.createElementNS(ns, "path");
  path.setAttribute("fill", "currentColor");
  path.setAttribute("d", ICONS[name] || "");
  svg.append(path);
  return svg;
}

// --- errors next to what caused them (issue 23) -------------------------------------------------

/** The part of an API error's detail about `field` ("indicators.1.value: not an IPv4 address…" →
 * "not an IPv4 address…"); details name the field they are about before a colon. */
export function fieldMessage(detail, field) {
  const parts = String(detail || "").split(/;\s+/);
  const own = parts.find((p) => p.startsWith(`${field}: `));
  return own ? own.slice(field.length + 2) : String(detail || "");
}

/** Remove the field errors a previous submit of `form` left. */
export function clearFieldErrors(form) {
  for (const p of form.querySelectorAll(".field-error")) p.remove();
  for (const bad of form.querySelectorAll("[aria-invalid]")) {
    bad.removeAttribute("aria-invalid");
    const described = (bad.getAttribute("aria-describedby") || "").split(" ").filter((x) => x && !x.startsWith("fe-"));
    if (described.length) bad.setAttribute("aria-describedby", described.join(" "));
    else bad.removeAttribute("aria-describedby");
  }
}

let fieldErrorSeq = 0;

/**
 * Show an API error where it belongs: each field it names gets its message right under it
 * (`aria-invalid`, `aria-describedby`), the form's own error line (`box`) says what is left, and the
 * first field gets the focus. What the person typed is never cleared. `locate(field)` finds the
 * control of a field path (default: the form element of that name). Returns the fields placed.
 */
export function showFormError(form, box, error, locate = (f) => form.elements[f]) {
  clearFieldErrors(form);
  let first = null;
  let placed = 0;
  for (const field of (error && error.fields) || []) {
    const node = locate(field);
    if (!node || typeof node.setAttribute !== "function") continue;
    const id = `fe-${++fieldErrorSeq}`;
    node.setAttribute("aria-invalid", "true");
    node.setAttribute("aria-describedby", `${node.getAttribute("aria-describedby") || ""} ${id}`.trim());
    node.insertAdjacentElement("afterend", el("p", {class: "field-error error", id}, fieldMessage(error.detail, field)));
    first = first || node;
    placed += 1;
  }
  if (box) {
    box.textContent = placed && placed === error.fields.length
      ? gettext("Please correct the marked fields.") : ((error && error.detail) || "");
  }
  if (first) first.focus();
  return placed;
}
