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

export function formatTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const lang = document.documentElement.lang || "vi";
  const sameDay = d.toDateString() === new Date().toDateString();
  return sameDay
    ? d.toLocaleTimeString(lang, {hour: "2-digit", minute: "2-digit"})
    : d.toLocaleString(lang, {year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit"});
}

export function timeEl(iso) {
  return el("time", {datetime: iso || "", title: iso || ""}, formatTime(iso));
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
  security: "Information security", software: "Software development", training: "Training and certification",
  consulting: "Project consulting", communications: "Communications", events: "Events and workshops", other: "Other",
};
// The literal calls let makemessages find the strings.
void [gettext("Low"), gettext("Medium"), gettext("High"), gettext("Critical"), gettext("Normal"), gettext("Urgent"), gettext("New"), gettext("Accepted"),
  gettext("In progress"), gettext("Waiting for requester"), gettext("Resolved"), gettext("Reopened"), gettext("Closed"), gettext("Rejected"),
  gettext("Open"), gettext("Mitigated"), gettext("Pending"), gettext("Acknowledged"), gettext("Raised"), gettext("Escalated"), gettext("Status changed"),
  gettext("created"), gettext("status changed"), gettext("field changed"), gettext("assigned"), gettext("commented"),
  gettext("attached a file"), gettext("watcher added"), gettext("watcher removed"), gettext("Information security"),
  gettext("Software development"), gettext("Training and certification"), gettext("Project consulting"), gettext("Communications"),
  gettext("Events and workshops"), gettext("Other")];

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
