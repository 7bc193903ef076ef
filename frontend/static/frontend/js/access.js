// The person's rights changed while a page is open — an admin moved them to another centre, gave or
// took a role or the hub admin flag. Every socket of theirs that stays open says so with
// `access.changed` (docs/frames.md); later frames are already chosen with the new rights, but what
// the page shows was chosen with the old ones: messages shared with the old centre, its alerts and
// requests, the dashboard's figures, unread counts. So the page loads again at once, without asking
// — a security hub does not leave on screen what someone may no longer see (docs/ui.md, "When your
// access changes"). A change the page missed — made between rendering it and its socket opening, or
// while the socket was away — is caught the same way: sockets carry the digest of the rights the page
// was rendered with (`pageAccess`, `?access=`), and a socket whose person's rights differ now sends
// `access.changed` as soon as it opens.
//
// What the person was typing survives: before reloading, every text field they changed (a textarea
// or text input with an id: the topic's composer, a new request's title and description, an alert's
// note …) is kept in this tab's sessionStorage with the page's address and their username, and put
// back into the same field once the reloaded page has built it — unless the field is no longer
// there (a form they may no longer use). Choices (TLP, sharing, target centre, a select) are not
// carried over: they are made again with the new rights. Messages already sent from the composer
// wait in the outbox, which survives a reload anyway (chat.js). After the reload a short notice says
// why the page changed.
//
// Nothing here touches the document when the module is imported (socket.js imports it; node loads
// socket.js alone in tests/frontend/test_page_socket.py).

import {gettext, me} from "./util.js";

const KEY = "hub.access-changed";
const KEEP_MS = 5 * 60 * 1000; // an older record is from another visit: ignored
const WAIT_FOR_FIELDS_MS = 10000; // fields a page builds after its data arrives
// Input types whose value is text the person typed (search boxes are left out: a query is not a draft).
const TEXT_TYPES = new Set(["text", "email", "url", "tel", "number"]);

let reloading = false;

/** The digest of the rights this page was rendered with (`hub_user`'s `access`), or null. */
export function pageAccess() {
  if (typeof document === "undefined") return null; // socket.js alone, under node
  const user = me();
  return user && user.access ? user.access : null;
}

function here() {
  return window.location.pathname + window.location.search;
}

/** {field id: value} of the text fields the person changed on this page. */
function typedFields() {
  const kept = {};
  for (const field of document.querySelectorAll("textarea[id], input[id]")) {
    if (field.disabled || field.readOnly) continue;
    if (field.tagName === "INPUT" && !TEXT_TYPES.has(field.type)) continue;
    if (field.value.trim() && field.value !== field.defaultValue) kept[field.id] = field.value;
  }
  return kept;
}

/** `access.changed` arrived (on any of the page's sockets: they all get it, the page reloads once). */
export function accessChanged() {
  if (reloading) return;
  reloading = true;
  const user = me();
  try {
    sessionStorage.setItem(KEY, JSON.stringify({
      path: here(), user: user ? user.username : null, at: Date.now(), fields: typedFields(),
    }));
  } catch (e) { /* private mode: reload all the same */ }
  window.location.reload();
}

function showNotice() {
  const main = document.getElementById("main");
  if (!main) return;
  const notice = document.createElement("p");
  notice.className = "notice access-notice";
  notice.setAttribute("role", "status");
  notice.dataset.testid = "access-notice";
  notice.textContent = gettext("Your access changed; the page was reloaded.");
  main.prepend(notice);
}

/** Put a kept value back into its field if the page has it (and the person has not typed there yet). */
function fill(fields) {
  for (const [id, value] of Object.entries(fields)) {
    const field = document.getElementById(id);
    if (!field || !("value" in field)) continue;
    if (!field.value || field.value === field.defaultValue) field.value = value;
    delete fields[id];
  }
}

/** On every page's start (main.js): if this page was reloaded by `accessChanged`, say so and restore
 * what the person was typing, once `started` (the page's own start) has settled. */
export function afterAccessReload(started) {
  let saved = null;
  try {
    saved = JSON.parse(sessionStorage.getItem(KEY) || "null");
    sessionStorage.removeItem(KEY);
  } catch (e) { return; }
  const user = me();
  if (!saved || saved.path !== here() || !user || saved.user !== user.username
      || !(Date.now() - saved.at < KEEP_MS)) return;
  showNotice();
  const fields = {...(saved.fields || {})};
  Promise.resolve(started).catch(() => null).then(() => {
    fill(fields);
    if (!Object.keys(fields).length) return;
    const watcher = new MutationObserver(() => {
      fill(fields);
      if (!Object.keys(fields).length) watcher.disconnect();
    });
    watcher.observe(document.body, {childList: true, subtree: true});
    setTimeout(() => watcher.disconnect(), WAIT_FOR_FIELDS_MS);
  });
}
