// The page's frame on a phone (issue 23, docs/ui.md "Phone"): the header's menu (the navigation,
// the person, log out and the language fold into it under 48rem) and, on the topic page, the topic
// list as a drawer. Both are plain disclosure buttons (aria-expanded / aria-controls); the drawer is
// modal while open (the rest of the page is inert, Tab stays inside, Escape / the close button / a tap
// on the backdrop close it and the focus goes back to the button that opened it).

const PHONE = window.matchMedia("(max-width: 48rem)");

const FOCUSABLE = "a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), select:not([disabled]), "
  + "textarea:not([disabled]), [tabindex]:not([tabindex='-1'])";

function focusables(root) {
  return Array.from(root.querySelectorAll(FOCUSABLE)).filter((node) => node.getClientRects().length > 0);
}

/** The header's menu: a disclosure that only exists as such on a phone (CSS shows the button there). */
function startMenu() {
  const header = document.getElementById("site-header");
  const toggle = document.getElementById("menu-toggle");
  const menu = document.getElementById("site-menu");
  if (!header || !toggle || !menu) return;
  const isOpen = () => toggle.getAttribute("aria-expanded") === "true";
  const set = (open, {returnFocus = false} = {}) => {
    toggle.setAttribute("aria-expanded", String(open));
    header.classList.toggle("menu-open", open);
    if (!open && returnFocus) toggle.focus();
  };
  toggle.addEventListener("click", () => {
    const open = !isOpen();
    set(open);
    if (open) {
      const first = focusables(menu)[0];
      if (first) first.focus();
    }
  });
  menu.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && isOpen()) {
      event.preventDefault();
      set(false, {returnFocus: true});
    }
  });
  toggle.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && isOpen()) set(false);
  });
  // A click or the focus anywhere else closes it, as a menu does.
  document.addEventListener("click", (event) => {
    if (isOpen() && !header.contains(event.target)) set(false);
  });
  header.addEventListener("focusout", (event) => {
    if (isOpen() && event.relatedTarget && !menu.contains(event.relatedTarget) && event.relatedTarget !== toggle) {
      set(false);
    }
  });
  PHONE.addEventListener("change", () => { if (!PHONE.matches) set(false); });
}

/** The topic page's drawer: #topic-drawer, opened by #drawer-toggle in the header. */
function startDrawer() {
  const toggle = document.getElementById("drawer-toggle");
  const drawer = document.getElementById("topic-drawer");
  const backdrop = document.getElementById("drawer-backdrop");
  const close = document.getElementById("drawer-close");
  if (!toggle || !drawer || !backdrop || !close) return;
  // What the drawer hides while it is open: everything but itself, for the mouse, the keyboard and
  // screen readers alike.
  const outside = () => [document.getElementById("site-header"), document.getElementById("alert-banners"),
    document.querySelector(".skip-link"), ...document.querySelectorAll(".chat-layout > :not(.topic-drawer)")]
    .filter((node) => node && node !== backdrop);
  const isOpen = () => drawer.classList.contains("open");

  const open = () => {
    drawer.classList.add("open");
    drawer.setAttribute("role", "dialog");
    drawer.setAttribute("aria-modal", "true");
    drawer.setAttribute("aria-label", drawer.dataset.label || "");
    backdrop.hidden = false;
    toggle.setAttribute("aria-expanded", "true");
    for (const node of outside()) node.inert = true;
    document.body.classList.add("drawer-open");
    const current = drawer.querySelector("[aria-current=page]");
    (current || close).focus();
  };
  const shut = ({returnFocus = true} = {}) => {
    if (!isOpen()) return;
    drawer.classList.remove("open");
    for (const name of ["role", "aria-modal", "aria-label"]) drawer.removeAttribute(name);
    backdrop.hidden = true;
    toggle.setAttribute("aria-expanded", "false");
    for (const node of outside()) node.inert = false;
    document.body.classList.remove("drawer-open");
    if (returnFocus) toggle.focus();
  };

  toggle.addEventListener("click", () => (isOpen() ? shut() : open()));
  close.addEventListener("click", () => shut());
  backdrop.addEventListener("click", () => shut());
  drawer.addEventListener("keydown", (event) => {
    if (!isOpen()) return;
    if (event.key === "Escape") {
      event.preventDefault();
      shut();
      return;
    }
    if (event.key !== "Tab") return;
    const items = focusables(drawer);
    if (!items.length) return;
    const first = items[0];
    const last = items[items.length - 1];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  });
  // Topic links are drawn later (chat.js, conversations.js); following one leaves the page anyway.
  // A dialog the drawer opens (the people picker) is modal itself: close the drawer first.
  drawer.addEventListener("click", (event) => {
    if (event.target.closest("#new-conversation")) shut({returnFocus: false});
  });
  PHONE.addEventListener("change", () => { if (!PHONE.matches) shut({returnFocus: false}); });
}

/**
 * The topic page's head on a phone: the search box (#search-form) and the topic's information
 * (#topic-info: its description, the read-state switch) fold behind two disclosure buttons so the
 * messages get the screen. On a desktop the buttons are hidden and both parts always shown (hub.css);
 * `open` is the class that shows them on a phone. Opening moves the focus into the part; Escape in
 * it closes it and gives the focus back to its button.
 */
function startTopicHead() {
  const pairs = [["search-toggle", "search-form", "#search-q"], ["topic-info-toggle", "topic-info", null]];
  for (const [toggleId, partId, focusSelector] of pairs) {
    const toggle = document.getElementById(toggleId);
    const part = document.getElementById(partId);
    if (!toggle || !part) continue;
    const set = (open, {returnFocus = false} = {}) => {
      toggle.setAttribute("aria-expanded", String(open));
      part.classList.toggle("open", open);
      if (open) {
        const first = focusSelector ? part.querySelector(focusSelector) : focusables(part)[0];
        if (first) first.focus();
      } else if (returnFocus) {
        toggle.focus();
      }
    };
    toggle.addEventListener("click", () => set(toggle.getAttribute("aria-expanded") !== "true"));
    part.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && PHONE.matches && part.classList.contains("open")) {
        event.preventDefault();
        set(false, {returnFocus: true});
      }
    });
  }
}

/**
 * The topic page's message list keeps showing its newest messages when its own height changes (a
 * banner appears above it, the phone's keyboard opens, the window is resized) if it was scrolled to
 * the bottom before; chat.js keeps it there as messages arrive.
 */
function pinScrollerToBottom() {
  const scroller = document.getElementById("scroller");
  if (!scroller || !("ResizeObserver" in window)) return;
  const atBottom = () => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 40;
  let wasAtBottom = true;
  let height = scroller.clientHeight;
  scroller.addEventListener("scroll", () => { wasAtBottom = atBottom(); }, {passive: true});
  new ResizeObserver(() => {
    if (scroller.clientHeight !== height && wasAtBottom) scroller.scrollTop = scroller.scrollHeight;
    height = scroller.clientHeight;
  }).observe(scroller);
}

export function startLayout() {
  startMenu();
  startDrawer();
  startTopicHead();
  pinScrollerToBottom();
}
