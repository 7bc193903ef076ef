// The message actions extension point: one registry of what a person can do with a message, and the
// menu that shows it (a toolbar on hover or keyboard focus on desktop, a sheet on a tap on phones).
//
// Other features add their actions without touching the topic page's code:
//
//   import {registerMessageAction} from "../message_actions.js";
//   registerMessageAction({
//     id: "promote-ticket",                      // unique; also the menu item's data-action
//     label: () => gettext("Make a request"),    // translated when the menu opens
//     icon: "ticket",                            // a name in util.ICONS (shown in the toolbar and menu)
//     order: 50,                                 // menu position (built-ins: 10 … 40, 90 delete)
//     quick: false,                              // true: also a button in the hover toolbar
//     danger: false,                             // true: shown last, in red (delete)
//     when: (m, ctx) => !ctx.deleted,            // shown only when this returns true
//     run: async (m, ctx) => { … },              // the action; may return a promise
//   });
//
// and add one `import "./<feature>.js";` line to actions/index.js. `ctx` (built by the topic view
// for each message) offers: user, slug, mine, deleted, path (/topics/…/#m-ID), permalink (the same,
// absolute), view (the TopicView), and helpers
// insertIntoComposer(text), say(text) (a polite status line), fail(text) (an error next to the
// composer), update(message) (show a newer wire form, e.g. what the API answered).
//
// Parts under a message body (reactions, thread replies, "promoted to" badges) register the same
// way with registerMessagePart({id, order, render: (m, ctx) => Node | null}); frames the topic
// socket carries that the topic view does not know (reaction or pin changes…) go to handlers added
// with onTopicFrame(type, (frame, view) => …). docs/ui.md, "Extending the topic page".

import {ICONS, el, gettext, icon} from "./util.js";

const actions = new Map();
const parts = new Map();
const frameHandlers = new Map();

function byOrder(a, b) {
  return (Number(Boolean(a.danger)) - Number(Boolean(b.danger))) || ((a.order ?? 50) - (b.order ?? 50))
    || a.id.localeCompare(b.id);
}

/** Add (or replace, by id) a message action. */
export function registerMessageAction(spec) {
  if (!spec || !spec.id || typeof spec.run !== "function") throw new Error("a message action needs an id and run()");
  actions.set(spec.id, spec);
}

/** Add (or replace, by id) a part rendered under every message's body. */
export function registerMessagePart(spec) {
  if (!spec || !spec.id || typeof spec.render !== "function") throw new Error("a message part needs an id and render()");
  parts.set(spec.id, spec);
}

/** Handle a topic-socket frame type the topic view does not know itself. */
export function onTopicFrame(type, handler) {
  if (!frameHandlers.has(type)) frameHandlers.set(type, []);
  frameHandlers.get(type).push(handler);
}

/** Called by the topic view for frames it does not handle; returns whether anyone took it. */
export function dispatchTopicFrame(frame, view) {
  const handlers = frameHandlers.get(frame.type);
  if (!handlers) return false;
  for (const handler of handlers) {
    try { handler(frame, view); } catch (e) { console.error(e); } // one broken extension does not stop the rest
  }
  return true;
}

/** The actions that apply to this message for this viewer, in menu order. */
export function actionsFor(message, ctx) {
  const found = [];
  for (const spec of actions.values()) {
    let applies = false;
    try { applies = spec.when ? Boolean(spec.when(message, ctx)) : !ctx.deleted; } catch (e) { console.error(e); }
    if (applies) found.push(spec);
  }
  return found.sort(byOrder);
}

function iconOf(spec) {
  if (!spec.icon) return null;
  return ICONS[spec.icon] ? icon(spec.icon) : el("span", {"aria-hidden": "true"}, spec.icon);
}

function labelOf(spec) {
  return typeof spec.label === "function" ? spec.label() : String(spec.label || spec.id);
}

/** The registered parts rendered for one message (each may render nothing). */
export function renderParts(message, ctx) {
  const nodes = [];
  for (const spec of Array.from(parts.values()).sort(byOrder)) {
    try {
      const node = spec.render(message, ctx);
      if (node) nodes.push(node);
    } catch (e) { console.error(e); }
  }
  return nodes;
}

async function runAction(spec, message, ctx) {
  try {
    await spec.run(message, ctx);
  } catch (e) {
    console.error(e);
    ctx.fail(gettext("That did not work. Please try again."));
  }
}

// --- the menu ----------------------------------------------------------------------------------
// One menu element per page, moved to the message whose "more" button opened it (or shown as a
// sheet at the bottom of a phone's screen). Keyboard: Enter/Space/↓ open it on the first item,
// ↑/↓/Home/End move, Escape closes and returns to the button, Tab closes.

let openMenu = null; // {menu, button, backdrop}

const touchOnly = () => window.matchMedia("(hover: none)").matches;

export function closeMessageMenu({focusButton = false} = {}) {
  if (!openMenu) return;
  const {menu, button, backdrop} = openMenu;
  openMenu = null;
  menu.remove();
  if (backdrop) backdrop.remove();
  if (button) {
    button.setAttribute("aria-expanded", "false");
    const li = button.closest("li.msg");
    if (li) li.classList.remove("menu-open");
    if (focusButton && button.isConnected) button.focus();
  }
}

function menuKeys(event, menu) {
  const items = Array.from(menu.querySelectorAll("[role=menuitem]"));
  const at = items.indexOf(document.activeElement);
  let next = null;
  if (event.key === "ArrowDown") next = (at + 1) % items.length;
  else if (event.key === "ArrowUp") next = (at - 1 + items.length) % items.length;
  else if (event.key === "Home") next = 0;
  else if (event.key === "End") next = items.length - 1;
  else if (event.key === "Escape") { event.preventDefault(); closeMessageMenu({focusButton: true}); return; }
  else if (event.key === "Tab") { closeMessageMenu(); return; }
  if (next !== null && items.length) {
    event.preventDefault();
    items[next].focus();
  }
}

/** Open the actions menu of one message; `asSheet` for a tap on a touch screen. */
export function openMessageMenu(button, message, ctx, {asSheet = false, focusFirst = true} = {}) {
  closeMessageMenu();
  const specs = actionsFor(message, ctx);
  if (!specs.length) return;
  const li = button.closest("li.msg");
  const menu = el("div", {class: `msg-menu${asSheet ? " sheet" : ""}`, role: "menu", id: "msg-menu",
    "aria-label": gettext("Message actions")});
  for (const spec of specs) {
    const item = el("button", {type: "button", role: "menuitem", tabindex: "-1",
      class: spec.danger ? "danger-item" : null, dataset: {action: spec.id}},
    el("span", {class: "msg-menu-icon"}, iconOf(spec)), el("span", {class: "msg-menu-label"}, labelOf(spec)));
    item.addEventListener("click", () => {
      closeMessageMenu({focusButton: !asSheet});
      runAction(spec, message, ctx);
    });
    menu.append(item);
  }
  menu.addEventListener("keydown", (e) => menuKeys(e, menu));
  let backdrop = null;
  if (asSheet) {
    backdrop = el("div", {class: "msg-menu-backdrop"});
    backdrop.addEventListener("click", () => closeMessageMenu());
    menu.prepend(el("p", {class: "msg-menu-title"}, gettext("Message actions")));
    menu.append(el("button", {type: "button", role: "menuitem", class: "msg-menu-cancel", onclick: () => closeMessageMenu()}, gettext("Cancel")));
    document.body.append(backdrop, menu);
  } else {
    // Open upwards for a message in the lower half of its scroller, so the menu is not cut off.
    const scroller = li && li.closest(".scroller");
    if (scroller) {
      const box = scroller.getBoundingClientRect();
      if (li.getBoundingClientRect().top > box.top + box.height / 2) menu.classList.add("up");
    }
    button.after(menu);
  }
  if (li) li.classList.add("menu-open");
  button.setAttribute("aria-expanded", "true");
  openMenu = {menu, button, backdrop};
  if (focusFirst) {
    const first = menu.querySelector("[role=menuitem]");
    if (first) first.focus();
  }
}

document.addEventListener("pointerdown", (e) => {
  if (openMenu && !openMenu.menu.contains(e.target) && e.target !== openMenu.button
      && !(openMenu.button && openMenu.button.contains(e.target))) {
    closeMessageMenu();
  }
});

/**
 * The toolbar of one message: its quick actions and the "more actions" button. Shown while the
 * pointer is over the message or focus is inside it (CSS); a tap on the message itself opens the
 * menu as a sheet on touch screens (bindTapToOpen).
 */
export function messageToolbar(message, ctx) {
  const specs = actionsFor(message, ctx);
  if (!specs.length) return null;
  const bar = el("div", {class: "msg-toolbar", role: "toolbar", "aria-label": gettext("Message actions")});
  for (const spec of specs.filter((s) => s.quick)) {
    bar.append(el("button", {type: "button", class: "msg-quick", dataset: {action: spec.id},
      title: labelOf(spec), "aria-label": labelOf(spec), onclick: () => runAction(spec, message, ctx)},
    iconOf(spec) || el("span", {"aria-hidden": "true"}, labelOf(spec).slice(0, 1))));
  }
  const more = el("button", {type: "button", class: "msg-more", "aria-haspopup": "menu", "aria-expanded": "false",
    "aria-controls": "msg-menu", title: gettext("More actions"), "aria-label": gettext("More actions")},
  icon("more"));
  more.addEventListener("click", (e) => {
    if (openMenu && openMenu.button === more) { closeMessageMenu(); return; }
    // A click from the keyboard (Enter/Space: detail 0) lands on the first item; a mouse click too,
    // so ↑/↓ work at once either way.
    openMessageMenu(more, message, ctx, {asSheet: touchOnly(), focusFirst: true});
    e.stopPropagation();
  });
  more.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown") { e.preventDefault(); openMessageMenu(more, message, ctx); }
  });
  bar.append(more);
  return bar;
}

const INTERACTIVE = "a, button, input, textarea, select, summary, label, [role=menu], .msg-toolbar";

/** On a touch screen a tap on a message (not on a link or a button in it) opens its menu. */
export function bindTapToOpen(li, message, ctx) {
  li.addEventListener("click", (e) => {
    if (!touchOnly() || e.target.closest(INTERACTIVE)) return;
    const selection = window.getSelection && window.getSelection();
    if (selection && String(selection).length) return; // selecting text, not asking for the menu
    const more = li.querySelector(".msg-more");
    if (more) openMessageMenu(more, message, ctx, {asSheet: true, focusFirst: true});
  });
}
