// The topic page: live messages over /ws/topics/{slug}/, history, composer, presence, typing,
// mentions, edits, deletes and search.
//
// Delivery rules (see docs/ui.md): every message is keyed by its id; `lastId` is the highest id
// received. On every (re)connect the page sends {"type":"sync","after":lastId} first, so whatever
// was missed arrives from the database, and then re-sends every message still waiting in the outbox
// with its original client_id, which the server de-duplicates. Rendering is an ordered insert by id
// that ignores ids already shown, so a message never appears twice or out of order.
//
// Navigation (docs/ui.md, "Finding your place"): the log shows one contiguous window of the topic's
// history. It is normally the latest messages (`atLatest`: live ones are added at the end); following
// a link to an older message (#m-ID) or "jump to the first unread" replaces it with a window around
// that message, which grows upwards and downwards as the person scrolls. Meanwhile live messages are
// received (for `lastId`, sync and the outbox) but held back, and shown once the window reaches the
// latest again. Day separators and the "new messages" line are placed by one walk over the log
// (`placeMarkers`) after every change, so history pages, windows and live messages all get them.

import {$, api, centreCode, centres, el, fmt, hubTimeZone, me, ngettext, personName, setHtml, showWithdrawn, gettext, timeEl} from "./util.js";
import {LiveSocket} from "./socket.js";
import {bindTapToOpen, closeMessageMenu, dispatchTopicFrame, messageToolbar, renderParts} from "./message_actions.js";
import "./actions/index.js";
import {markingChooser} from "./tlp.js";
import {merged} from "./message_state.js";
import {attachFiles} from "./chat_files.js";
import {bindTopicSearch, withdrawHit} from "./search.js";

const PAGE_SIZE = 50;
const TYPING_SEND_EVERY = 3000;
const TYPING_SHOW_FOR = 5000;
const DAY_MS = 86400000;

/** The local day of a time in the hub's zone (Asia/Ho_Chi_Minh), as "YYYY-MM-DD". */
let dayFormat = null;
function dayKey(iso) {
  if (!dayFormat) dayFormat = new Intl.DateTimeFormat("en-CA", {timeZone: hubTimeZone(), year: "numeric", month: "2-digit", day: "2-digit"});
  const d = iso instanceof Date ? iso : new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : dayFormat.format(d);
}

/** The day before a "YYYY-MM-DD" day. */
function dayBefore(key) {
  const [y, m, d] = key.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d) - DAY_MS).toISOString().slice(0, 10);
}

/** "Hôm nay", "Hôm qua", or the local date in the viewer's language (the year only when not this year). */
function dayLabel(key, today) {
  if (key === today) return gettext("Today");
  if (key === dayBefore(today)) return gettext("Yesterday");
  const [y, m, d] = key.split("-").map(Number);
  const lang = document.documentElement.lang || "vi";
  const options = {weekday: "long", day: "numeric", month: "long", timeZone: "UTC"};
  if (String(y) !== today.slice(0, 4)) options.year = "numeric";
  return new Date(Date.UTC(y, m - 1, d, 12)).toLocaleDateString(lang, options);
}

function newClientId() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The message.send frame of an outbox item: its text, client id and marking (tlp, shared_with). */
function sendFrame(item) {
  const frame = {type: "message.send", body: item.body, client_id: item.client_id};
  if (item.tlp) frame.tlp = item.tlp;
  if (item.shared_with !== undefined) frame.shared_with = item.shared_with;
  return frame;
}

function resultsOf(data) {
  if (Array.isArray(data)) return data;
  return (data && Array.isArray(data.results)) ? data.results : [];
}

/** The outbox survives a reload: messages typed offline are not lost if the tab is refreshed. */
class Outbox {
  constructor(key) {
    this.key = key;
    try { this.items = JSON.parse(localStorage.getItem(key) || "[]"); } catch (e) { this.items = []; }
    if (!Array.isArray(this.items)) this.items = [];
  }
  save() {
    try { localStorage.setItem(this.key, JSON.stringify(this.items)); } catch (e) { /* private mode */ }
  }
  add(item) { this.items.push(item); this.save(); }
  remove(clientId) {
    const before = this.items.length;
    this.items = this.items.filter((i) => i.client_id !== clientId);
    if (this.items.length !== before) this.save();
    return this.items.length !== before;
  }
}

export class TopicView {
  constructor(root) {
    this.root = root;
    this.slug = root.dataset.slug;
    this.user = me();
    this.maxBytes = this.user.max_body_bytes || 16384;
    this.list = $("#messages");
    this.outboxList = $("#outbox");
    this.scroller = $("#scroller");
    this.status = $("#conn-status");
    this.input = $("#composer-input");
    this.error = $("#composer-error");
    this.messages = new Map(); // id → message object
    this.nodes = new Map(); // id → <li>
    this.lastId = 0;
    this.oldestId = null;
    this.newestId = null; // the newest message in the log (the window's end)
    this.historyDone = false;
    this.loadingHistory = false;
    this.loadingNewer = false;
    this.atLatest = true; // the log reaches the topic's latest message: live ones are shown
    this.switching = false; // a new window is being loaded: live messages wait in `held`
    this.held = new Map(); // id → message received but beyond the window
    this.readAtOpen = null; // my read marker when the page opened (the "new messages" line)
    this.latestAtOpen = 0; // the topic's latest message then: later ones are not "unread at opening"
    this.unreadAtOpen = 0;
    this.firstUnreadId = null;
    this.outbox = new Outbox(`hub.outbox.${this.user.username}.${this.slug}`);
    this.knownUsers = new Map();
    this.typers = new Map(); // username → {name, timer}
    this.lastTypingSent = 0;
    this.lastReadSent = 0;
    this.readTimer = null;
    this.flushRetry = null;
  }

  async start() {
    for (const item of this.outbox.items) this.renderPending(item);
    this.bindComposer();
    this.bindSearch();
    this.loadSidebar();
    setInterval(() => this.loadSidebar(), 30000);
    window.addEventListener("focus", () => this.loadSidebar());
    document.addEventListener("visibilitychange", () => this.markRead());
    this.bindNavigation();
    await Promise.all([this.loadReadState(), this.loadLatest()]);
    this.placeMarkers();
    this.scrollToEnd();
    await this.showLinkedMessage();
    window.addEventListener("hashchange", () => this.showLinkedMessage());
    this.observeHistory();
    this.updateJumps();
    this.socket = new LiveSocket(`/ws/topics/${encodeURIComponent(this.slug)}/`, {
      onOpen: () => this.onOpen(),
      onFrame: (f) => this.onFrame(f),
      onState: (s, d) => this.showState(s, d),
    }).start();
  }

  // --- connection ----------------------------------------------------------------------------
  onOpen() {
    // `changed_since`: what changed meanwhile in messages already shown — edits, deletions, reactions,
    // pins, thread counts — comes first, as `message.updated` / `message.deleted` (docs/chat.md). The
    // hub's own clock: the last `sync.done`'s `at`, or before any, the time the page was rendered.
    const since = this.changedSince || document.documentElement.dataset.now;
    this.socket.send(since ? {type: "sync", after: this.lastId, changed_since: since} : {type: "sync", after: this.lastId});
    this.flushOutbox();
  }

  flushOutbox() {
    for (const item of this.outbox.items) {
      if (!this.socket.send(sendFrame(item))) break;
      this.setPendingState(item.client_id, gettext("Sending…"));
    }
  }

  showState(state, detail) {
    const texts = {
      connecting: gettext("Connecting…"),
      live: gettext("Live"),
      reconnecting: gettext("Reconnecting…"),
      offline: gettext("Offline: messages you write will be sent when the connection returns."),
      closed: {
        4401: gettext("Your session has ended. Sign in again."),
        4403: gettext("You are not allowed to see this topic."),
        4404: gettext("This topic does not exist."),
      }[detail] || gettext("Disconnected."),
    };
    if (state === "closed" && (detail === 4403 || detail === 4404)) {
      this.leave(texts.closed);
      return;
    }
    this.status.dataset.state = state;
    this.status.textContent = texts[state] || state;
    if (state === "closed" && detail === 4401) {
      const next = encodeURIComponent(window.location.pathname);
      this.status.append(" ", el("a", {href: `/accounts/login/?next=${next}`}, gettext("Sign in")));
    }
    if (state !== "live") {
      for (const item of this.outbox.items) this.setPendingState(item.client_id, gettext("Waiting for the connection…"));
    }
  }

  /** The topic is no longer the person's to see (its rule narrowed: closed 4403) or is gone (4404):
   * nothing of it stays on screen — the messages, the thread panel, the pins, the search results and
   * the composer give way to `text` and a link back to the topic list; the sidebar drops the topic. */
  leave(text) {
    if (this.gone) return;
    this.gone = true;
    closeMessageMenu();
    clearTimeout(this.readTimer);
    clearTimeout(this.flushRetry);
    for (const {timer} of this.typers.values()) clearTimeout(timer);
    this.messages.clear();
    this.nodes.clear();
    this.held.clear();
    const thread = $("#thread-panel");
    if (thread) thread.remove();
    document.body.classList.remove("thread-open");
    const main = this.root.querySelector(".chat-main");
    main.dataset.state = "gone";
    showWithdrawn(main, text, "/", gettext("All topics"));
    this.loadSidebar();
  }

  onFrame(frame) {
    if (this.gone) return;
    switch (frame.type) {
      case "message": {
        // Each message names the one before it in its topic (`prev_id`). A predecessor newer than
        // anything received reveals a hole the live stream never filled (a server that died between
        // storing and publishing): catch up from the last id received.
        const m = frame.message;
        const from = this.lastId;
        const hole = typeof m.prev_id === "number" && from > 0 && m.prev_id > from && !this.messages.has(m.prev_id)
          && !this.held.has(m.prev_id);
        this.upsert(m, {live: true});
        if (hole) this.socket.send({type: "sync", after: from});
        if (m.author) this.endTyping(m.author.username);  // their message came: no stale "… is typing"
        break;
      }
      case "message.updated":
        this.upsert(frame.message, {live: true, replace: true});
        break;
      case "message.deleted":
        this.markDeleted(frame.message || {id: frame.id});
        break;
      case "message.withdrawn":
        // No longer mine to see (its audience narrowed: an alert's summary and its thread when the
        // alert's TLP is raised): it leaves the log, the thread panel, the pins and the search results.
        this.withdraw(frame.id);
        break;
      case "sync.done":
        if (frame.at) this.changedSince = frame.at;
        this.markRead(true);
        dispatchTopicFrame(frame, this);  // extensions refresh what a sync does not carry (pins.js)
        break;
      case "resync":
        // Either more was missed than one sync carries (continue from where that batch ended), or
        // the server noticed the live stream skipped events (sync from the last id before the gap,
        // which may be older than ids received since). Ids already shown are ignored on arrival.
        this.root.dataset.resyncs = String(Number(this.root.dataset.resyncs || 0) + 1);
        this.socket.send({type: "sync", after: typeof frame.after === "number" ? frame.after : this.lastId});
        break;
      case "read":
        this.root.dataset.readUpTo = String(frame.up_to); // the server stored our read marker
        break;
      case "presence":
        this.renderPresence(frame);
        break;
      case "typing":
        this.showTyping(frame);
        break;
      case "error":
        this.onError(frame);
        break;
      default:
        dispatchTopicFrame(frame, this); // frames other features handle (message_actions.js)
        break;
    }
  }

  onError(frame) {
    if (frame.code === "rate_limited") {
      this.error.textContent = gettext("You are sending too fast; the rest will follow in a moment.");
      clearTimeout(this.flushRetry);
      this.flushRetry = setTimeout(() => this.flushOutbox(), 2000);
      return;
    }
    this.error.textContent = frame.detail || frame.code;
  }

  // --- messages ------------------------------------------------------------------------------
  messagesUrl(query) {
    return `/api/v1/topics/${encodeURIComponent(this.slug)}/messages?${query}`;
  }

  /** My read marker and the unread count as the page opens (before this page moves the marker). */
  async loadReadState() {
    const r = await api("GET", `/api/v1/topics/${encodeURIComponent(this.slug)}`);
    if (!r.ok || !r.data) return;
    this.readAtOpen = Number(r.data.last_read_id) || 0;
    this.latestAtOpen = Number(r.data.latest_message_id) || 0;
    this.unreadAtOpen = Number(r.data.unread) || 0;
  }

  async loadLatest() {
    const r = await api("GET", this.messagesUrl(`limit=${PAGE_SIZE}`));
    if (!r.ok) {
      $("#history-status").textContent = r.error ? r.error.detail : gettext("Could not load messages.");
      return false;
    }
    const page = resultsOf(r.data);
    for (const m of page) this.upsert(m, {batch: true, page: true});
    this.historyDone = page.length < PAGE_SIZE;
    if (this.historyDone) $("#history-status").textContent = "";
    this.placeMarkers();
    this.scrollToEnd();
    return true;
  }

  observeHistory() {
    if (!("IntersectionObserver" in window)) return;
    const older = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) this.loadOlder();
    }, {root: this.scroller, rootMargin: "200px 0px 0px 0px"});
    older.observe($("#history-sentinel"));
    const newer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) this.loadNewer();
    }, {root: this.scroller, rootMargin: "0px 0px 200px 0px"});
    newer.observe($("#newer-sentinel"));
  }

  /** Whether a sentinel is (nearly) in view: an observer only tells when that changes. */
  sentinelInView(selector) {
    const node = $(selector);
    if (!node) return false;
    const box = this.scroller.getBoundingClientRect();
    const at = node.getBoundingClientRect();
    return at.bottom >= box.top - 200 && at.top <= box.bottom + 200;
  }

  async loadOlder() {
    if (this.loadingHistory || this.historyDone || this.oldestId === null || this.switching) return;
    this.loadingHistory = true;
    const statusNode = $("#history-status");
    statusNode.textContent = gettext("Loading older messages…");
    const from = this.oldestId;
    const r = await api("GET", this.messagesUrl(`before=${from}&limit=${PAGE_SIZE}`));
    if (this.oldestId !== from) { // another window was loaded meanwhile
      this.loadingHistory = false;
      return;
    }
    if (r.ok) {
      const page = resultsOf(r.data);
      const oldHeight = this.scroller.scrollHeight;
      const oldTop = this.scroller.scrollTop;
      for (const m of page) this.upsert(m, {batch: true, page: true});
      this.placeMarkers();
      this.scroller.scrollTop = oldTop + (this.scroller.scrollHeight - oldHeight);
      if (page.length < PAGE_SIZE) this.historyDone = true;
      statusNode.textContent = this.historyDone ? gettext("Beginning of the topic.") : "";
    } else {
      statusNode.textContent = r.error.detail;
    }
    this.loadingHistory = false;
    this.updateJumps();
    if (r.ok && !this.historyDone && this.sentinelInView("#history-sentinel")) this.loadOlder();
  }

  /** The next page below a window that does not reach the latest message yet. */
  async loadNewer() {
    if (this.loadingNewer || this.atLatest || this.newestId === null || this.switching) return;
    this.loadingNewer = true;
    const statusNode = $("#newer-status");
    statusNode.textContent = gettext("Loading newer messages…");
    const from = this.newestId;
    const r = await api("GET", this.messagesUrl(`after=${from}&limit=${PAGE_SIZE}`));
    this.loadingNewer = false;
    if (this.newestId !== from || this.atLatest) return;
    if (!r.ok) { statusNode.textContent = r.error.detail; return; }
    statusNode.textContent = "";
    for (const m of resultsOf(r.data)) this.upsert(m, {batch: true, page: true});
    if (!r.data.next) this.reachedLatest();
    this.placeMarkers();
    this.updateJumps();
    if (!this.atLatest && this.sentinelInView("#newer-sentinel")) this.loadNewer();
  }

  /** The window now reaches the latest message: show what arrived live meanwhile, and follow live. */
  reachedLatest() {
    this.atLatest = true;
    const held = Array.from(this.held.values()).sort((a, b) => a.id - b.id);
    this.held.clear();
    for (const m of held) {
      if (this.newestId === null || m.id > this.newestId) this.upsert(m, {batch: true, page: true});
    }
  }

  /** Empty the log before another window of the topic is shown. */
  resetLog() {
    closeMessageMenu();
    this.list.replaceChildren();
    this.messages.clear();
    this.nodes.clear();
    this.oldestId = null;
    this.newestId = null;
    this.historyDone = false;
    $("#history-status").textContent = "";
    $("#newer-status").textContent = "";
  }

  /** Show these messages instead of the log's; `first`: they start at the topic's first message. */
  replaceLog(messages, first) {
    this.resetLog();
    for (const m of messages) this.upsert(m, {batch: true, page: true});
    this.historyDone = first;
    if (first) $("#history-status").textContent = gettext("Beginning of the topic.");
  }

  /**
   * Show the window of history around message `id` (ids before it, it and ids after it), through the
   * API's before/after paging: `before=id` gives those older, `after=id-1` it and those newer.
   */
  async loadAround(id) {
    this.switching = true;
    const half = PAGE_SIZE / 2;
    const [older, newer] = await Promise.all([
      api("GET", this.messagesUrl(`before=${id}&limit=${half}`)),
      api("GET", this.messagesUrl(`after=${Math.max(0, id - 1)}&limit=${half}`)),
    ]);
    if (!older.ok || !newer.ok) {
      this.switching = false;
      if (this.atLatest) this.reachedLatest(); // what arrived meanwhile belongs to the log still shown
      this.placeMarkers();
      this.error.textContent = (older.error || newer.error).detail;
      return false;
    }
    this.atLatest = false;
    this.replaceLog([...resultsOf(older.data), ...resultsOf(newer.data)], !older.data.next);
    this.switching = false;
    if (!newer.data.next) this.reachedLatest();
    this.placeMarkers();
    return true;
  }

  /** Back to the latest messages (the "jump to the latest" button, or sending from an older window). */
  async jumpToLatest() {
    if (this.atLatest) { this.scrollToEnd(); this.updateJumps(); return; }
    this.switching = true;
    const r = await api("GET", this.messagesUrl(`limit=${PAGE_SIZE}`));
    this.switching = false;
    if (!r.ok) { this.error.textContent = r.error.detail; return; }
    this.replaceLog(resultsOf(r.data), !r.data.next);
    this.reachedLatest();
    this.placeMarkers();
    this.scrollToEnd();
    this.updateJumps();
  }

  /** The first message I had not read when I opened the page, when the log shows it (else null). */
  findFirstUnread() {
    if (this.readAtOpen === null || !this.unreadAtOpen) return null;
    // Unless the log reaches back to (or before) my marker, an older unread one may not be loaded.
    if (!this.historyDone && (this.oldestId === null || this.oldestId > this.readAtOpen + 1)) return null;
    for (const node of this.list.children) {
      if (!node.classList.contains("msg")) continue;
      const m = this.messages.get(Number(node.dataset.id));
      if (!m || m.id <= this.readAtOpen) continue;
      if (m.id > this.latestAtOpen) return null;
      const mine = m.author && m.author.username === this.user.username;
      if (!mine && !(m.deleted || m.deleted_at)) return m.id;
    }
    return null;
  }

  /**
   * Day separators ("Hôm nay", "Hôm qua", a local date) before the first message of each local day
   * (Asia/Ho_Chi_Minh) and the "new messages" line before the first message I had not read, placed
   * by one walk over the log that keeps the separators already right where they are.
   */
  placeMarkers() {
    const today = dayKey(new Date());
    this.firstUnreadId = this.findFirstUnread();
    let previousDay = null;
    let found = [];
    for (const node of Array.from(this.list.children)) {
      if (!node.classList.contains("msg")) { found.push(node); continue; }
      const day = node.dataset.day || previousDay;
      const wanted = [];
      if (day && day !== previousDay) wanted.push(`day:${day}`);
      if (Number(node.dataset.id) === this.firstUnreadId) wanted.push("unread");
      previousDay = day;
      const have = found.map((n) => n.dataset.marker);
      if (have.join(" ") !== wanted.join(" ")) {
        found.forEach((n) => n.remove());
        found = wanted.map((marker) => this.markerNode(marker));
        node.before(...found);
      }
      for (const n of found) {
        if (n.dataset.day) {
          const text = dayLabel(n.dataset.day, today);
          const label = n.querySelector("time");
          if (label.textContent !== text) label.textContent = text;
        }
      }
      found = [];
    }
    found.forEach((n) => n.remove()); // nothing after the last message
  }

  markerNode(marker) {
    if (marker === "unread") {
      return el("li", {class: "unread-line", id: "unread-line", dataset: {marker}},
        el("span", {class: "marker-label"}, gettext("New messages")));
    }
    const day = marker.slice(4);
    return el("li", {class: "day-separator", dataset: {marker, day}},
      el("span", {class: "marker-label"}, el("time", {datetime: day}, "")));
  }

  // --- finding your place ----------------------------------------------------------------------
  bindNavigation() {
    $("#jump-unread").addEventListener("click", () => this.jumpToFirstUnread());
    $("#jump-latest").addEventListener("click", () => this.jumpToLatest());
    let pending = false;
    this.scroller.addEventListener("scroll", () => {
      if (pending) return;
      pending = true;
      requestAnimationFrame(() => { pending = false; this.updateJumps(); });
    }, {passive: true});
    // A link to a message of this page that is already the address (a quote's "wrote" link followed
    // twice) changes no hash: show the message again all the same.
    this.list.addEventListener("click", (e) => {
      const a = e.target.closest("a[href]");
      if (!a) return;
      const url = new URL(a.href, window.location.href);
      if (url.origin === window.location.origin && url.pathname === window.location.pathname
          && /^#m-\d+$/.test(url.hash) && url.hash === window.location.hash) {
        e.preventDefault();
        this.showLinkedMessage();
      }
    });
  }

  /** Show "N new messages" when the first unread is above the view, "Jump to the latest" when the
   * latest messages are not in view. */
  updateJumps() {
    const box = this.scroller.getBoundingClientRect();
    const unread = $("#jump-unread");
    const line = $("#unread-line");
    let showUnread;
    if (line) showUnread = line.getBoundingClientRect().bottom < box.top + 4;
    else showUnread = this.unreadAtOpen > 0 && this.firstUnreadId === null && this.firstUnreadAbove();
    unread.hidden = !showUnread;
    if (showUnread) {
      unread.textContent = fmt(ngettext("%(n)s new message: jump to the first", "%(n)s new messages: jump to the first",
        this.unreadAtOpen), {n: this.unreadAtOpen});
    }
    const latest = $("#jump-latest");
    const farFromEnd = this.scroller.scrollHeight - this.scroller.scrollTop - this.scroller.clientHeight > this.scroller.clientHeight;
    latest.hidden = this.atLatest && !farFromEnd;
    if (!latest.hidden) latest.textContent = gettext("Jump to the latest messages");
  }

  /** Whether the first unread is older than the log's first message (not loaded yet). */
  firstUnreadAbove() {
    if (this.readAtOpen === null || this.historyDone || this.oldestId === null) return false;
    return this.oldestId > this.readAtOpen + 1;
  }

  async jumpToFirstUnread() {
    if (!$("#unread-line") && this.readAtOpen !== null) {
      if (!(await this.loadAround(this.readAtOpen + 1))) return;
    }
    const line = $("#unread-line");
    if (line) {
      line.scrollIntoView({block: "start"});
      // Keep the view where the line is while the older page above it loads (loadOlder keeps it).
    } else {
      this.scrollToEnd();
    }
    this.updateJumps();
  }

  nearEnd() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 120;
  }

  scrollToEnd() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  /** Insert or replace one message, keeping ids ascending; a known id is only replaced on edit.
   * `batch`: several at once, the caller places the separators afterwards; `page`: from a page of
   * history the log is being extended with (never held back). */
  upsert(m, {live = false, replace = false, batch = false, page = false} = {}) {
    if (!m || typeof m.id !== "number") return;
    if (m.thread_root) {
      // A threaded reply goes to its thread's panel (actions/threads.js); one only in its thread is
      // not shown in the channel, but still counts as received, for sync and gap detection.
      dispatchTopicFrame({type: "thread.reply", message: m, live}, this);
      if (!m.also_channel) {
        if (m.client_id && this.outbox.remove(m.client_id)) this.removePending(m.client_id);
        if (m.id > this.lastId) this.lastId = m.id;
        return;
      }
    }
    if (m.client_id && this.outbox.remove(m.client_id)) this.removePending(m.client_id);
    if (m.author) this.rememberUser(m.author);
    if (!page && (this.switching || (!this.atLatest && this.newestId !== null && m.id > this.newestId))) {
      // Beyond the window shown (or while another window loads): kept until the log reaches it.
      const current = this.held.get(m.id);
      if (!current || replace || (m.edited_at && m.edited_at !== current.edited_at) || (m.deleted && !current.deleted)) {
        const next = merged(current, m);
        if (next) this.held.set(m.id, next);
      }
      if (m.id > this.lastId) this.lastId = m.id;
      if (live) this.updateJumps();
      return;
    }
    const known = this.nodes.get(m.id);
    if (known) {
      const current = this.messages.get(m.id);
      // Replace only with something newer (an edit or a delete), never with a stale copy: nor with
      // an older state that arrives after a newer one (message_state.js).
      if (replace || (m.edited_at && m.edited_at !== (current && current.edited_at)) || (m.deleted && !current.deleted)) {
        const next = merged(current, m);
        if (!next) return;
        this.messages.set(m.id, next);
        known.replaceWith(this.renderAgain(m.id));
      }
      return;
    }
    // An edit of a message older than the loaded history is left for the history page that holds
    // it: inserting it alone would leave a hole that scrolling back would then skip.
    if (replace && this.oldestId !== null && m.id < this.oldestId) return;
    const stick = live && this.nearEnd();
    const node = this.renderMessage(m);
    this.messages.set(m.id, m);
    this.nodes.set(m.id, node);
    // After the last message with a smaller id (separators belong to the message after them).
    let after = this.list.lastElementChild;
    while (after && !(after.classList.contains("msg") && Number(after.dataset.id) < m.id)) after = after.previousElementSibling;
    if (after) after.after(node); else this.list.prepend(node);
    if (m.id > this.lastId) this.lastId = m.id;
    if (this.oldestId === null || m.id < this.oldestId) this.oldestId = m.id;
    if (this.newestId === null || m.id > this.newestId) this.newestId = m.id;
    if (!batch) this.placeMarkers();
    if (stick) this.scrollToEnd();
    if (live) { this.markRead(); this.updateJumps(); }
  }

  markDeleted(m) {
    const id = m && m.id;
    const current = this.messages.get(id) || this.held.get(id);
    if (!current) return;
    this.upsert({...current, ...m, deleted: true, html: "", body: ""}, {replace: true});
  }

  /** Take a message off the page: the log, what is held back, and (through its frame, for the
   * extensions) the thread panel and the pins; the search panel's hit too. Its id stays received
   * (`lastId`, the window's ends): the history around it is unchanged. */
  withdraw(id) {
    if (typeof id !== "number") return;
    const node = this.nodes.get(id);
    this.messages.delete(id);
    this.nodes.delete(id);
    this.held.delete(id);
    if (node) {
      node.remove();
      this.placeMarkers();
      this.updateJumps();
    }
    withdrawHit(id);
    dispatchTopicFrame({type: "message.withdrawn", topic: this.slug, id}, this);
  }

  /** What a message action or part gets to know and do (message_actions.js documents it). */
  contextFor(m) {
    const author = m.author || {};
    return {
      view: this,
      user: this.user,
      slug: this.slug,
      mine: author.username === this.user.username,
      deleted: Boolean(m.deleted || m.deleted_at),
      path: `/topics/${encodeURIComponent(this.slug)}/#m-${m.id}`,
      permalink: `${window.location.origin}/topics/${encodeURIComponent(this.slug)}/#m-${m.id}`,
      insertIntoComposer: (text) => this.insertIntoComposer(text),
      say: (text) => this.say(text),
      fail: (text) => { this.error.textContent = text; },
      update: (message) => this.upsert(message, {replace: true}),
    };
  }

  renderMessage(m) {
    const author = m.author || {};
    const ctx = this.contextFor(m);
    const body = el("div", {class: "msg-body rendered"});
    if (ctx.deleted) body.append(el("em", {class: "muted"}, gettext("This message was deleted.")));
    else setHtml(body, m.html);
    const head = el("div", {class: "msg-head"},
      el("strong", {class: "author"}, personName(author)), " ",
      el("span", {class: "centre-tag"}, centreCode(author.centre)), " ",
      el("a", {class: "msg-time", href: `#m-${m.id}`}, timeEl(m.created_at)),
      (m.edited_at && !ctx.deleted) ? el("span", {class: "muted edited"}, ` (${gettext("edited")})`) : null);
    const li = el("li", {class: `msg${ctx.mine ? " mine" : ""}${ctx.deleted ? " deleted" : ""}`, id: `m-${m.id}`,
      dataset: {id: String(m.id), day: dayKey(m.created_at)}}, head, body, ...renderParts(m, ctx));
    const toolbar = messageToolbar(m, ctx);
    if (toolbar) {
      li.prepend(toolbar);
      bindTapToOpen(li, m, ctx);
    }
    return li;
  }

  startEdit(id) {
    const m = this.messages.get(id);
    const li = this.nodes.get(id);
    if (!m || !li) return;
    closeMessageMenu();
    const area = el("textarea", {rows: 3, "aria-label": gettext("Edit message")});
    area.value = m.body || "";
    const error = el("p", {class: "error", role: "alert"});
    const done = (node) => {
      li.replaceWith(node);
      this.input.focus();
    };
    const cancel = () => done(this.renderAgain(id));
    const form = el("form", {class: "edit-form"}, area, error,
      el("p", {class: "muted edit-hint keyboard-hint"}, gettext("Enter saves, Escape cancels.")),
      el("button", {type: "submit"}, gettext("Save")), " ",
      el("button", {type: "button", class: "secondary", onclick: cancel}, gettext("Cancel")));
    const save = async () => {
      if (area.value === (m.body || "")) { cancel(); return; }
      const r = await api("PATCH", `/api/v1/topics/${encodeURIComponent(this.slug)}/messages/${id}`, {body: area.value});
      if (!r.ok) { error.textContent = r.error.detail; area.focus(); return; } // the text stays to fix it
      const updated = (r.data && r.data.message) || r.data;
      this.upsert(updated, {replace: true});
      this.input.focus();
    };
    form.addEventListener("submit", (e) => { e.preventDefault(); save(); });
    area.addEventListener("keydown", (e) => {
      if (e.key === "Escape") { e.preventDefault(); cancel(); }
      else if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); save(); }
    });
    li.querySelector(".msg-body").replaceWith(form);
    const toolbar = li.querySelector(".msg-toolbar");
    if (toolbar) toolbar.remove();
    li.classList.add("editing");
    area.focus();
    area.setSelectionRange(area.value.length, area.value.length);
  }

  /** The newest message of mine that can still be edited (Up-arrow in an empty composer). */
  lastOwnMessageId() {
    for (let node = this.list.lastElementChild; node; node = node.previousElementSibling) {
      const m = this.messages.get(Number(node.dataset.id));
      if (m && m.author && m.author.username === this.user.username && !(m.deleted || m.deleted_at)) return m.id;
    }
    return null;
  }

  insertIntoComposer(text) {
    const v = this.input.value;
    const start = this.input.selectionStart ?? v.length;
    const before = v.slice(0, start);
    const sep = before && !before.endsWith("\n") ? "\n" : "";
    this.input.value = `${before}${sep}${text}${v.slice(start)}`;
    const caret = before.length + sep.length + text.length;
    this.input.focus();
    this.input.setSelectionRange(caret, caret);
    this.schedulePreview();
  }

  /** A short-lived polite announcement ("Link copied."). */
  say(text) {
    const node = $("#action-status");
    if (!node) return;
    node.textContent = text;
    clearTimeout(this.sayTimer);
    this.sayTimer = setTimeout(() => { node.textContent = ""; }, 4000);
  }

  /**
   * Scroll to the message named by the address (#m-ID) and highlight it for a moment. One that is
   * not in the log is loaded with the history around it; a reply only in its thread opens there
   * (actions/threads.js); one that is not in this topic or not shared with me is said so.
   */
  async showLinkedMessage() {
    const match = window.location.hash.match(/^#m-(\d+)$/);
    if (!match) return false;
    const id = Number(match[1]);
    let node = this.nodes.get(id);
    if (!node) {
      const r = await api("GET", `/api/v1/topics/${encodeURIComponent(this.slug)}/messages/${id}`);
      if (!r.ok) {
        this.error.textContent = gettext("That message is not in this topic, or it is not shared with you.");
        return false;
      }
      if (r.data.thread_root && !r.data.also_channel) return false; // its thread opens instead
      if (!(await this.loadAround(id))) return false;
      node = this.nodes.get(id);
      if (!node) return false;
    }
    node.scrollIntoView({block: "center"});
    node.classList.remove("highlight");
    void node.offsetWidth; // restart the animation when the same link is followed again
    node.classList.add("highlight");
    this.updateJumps();
    return true;
  }

  renderAgain(id) {
    const node = this.renderMessage(this.messages.get(id));
    const old = this.nodes.get(id);
    if (old && old.classList.contains("highlight")) node.classList.add("highlight"); // a linked message stays marked
    this.nodes.set(id, node);
    return node;
  }

  async deleteMessage(id) {
    const r = await api("DELETE", `/api/v1/topics/${encodeURIComponent(this.slug)}/messages/${id}`);
    if (!r.ok) { this.error.textContent = r.error.detail; return; }
    this.markDeleted({id});
  }

  // --- outbox / pending ------------------------------------------------------------------------
  renderPending(item) {
    const li = el("li", {class: "msg pending mine", dataset: {clientId: item.client_id}},
      el("div", {class: "msg-head"}, el("strong", {class: "author"}, this.user.display_name), " ",
        el("span", {class: "pending-state muted"}, gettext("Waiting for the connection…")), " ",
        el("button", {type: "button", class: "link-button", onclick: () => this.discard(item.client_id)}, gettext("Discard"))),
      el("div", {class: "msg-body plain"}, item.body));
    this.outboxList.append(li);
  }

  setPendingState(clientId, text) {
    const node = this.outboxList.querySelector(`li[data-client-id="${CSS.escape(clientId)}"] .pending-state`);
    if (node) node.textContent = text;
  }

  removePending(clientId) {
    const node = this.outboxList.querySelector(`li[data-client-id="${CSS.escape(clientId)}"]`);
    if (node) node.remove();
  }

  discard(clientId) {
    this.outbox.remove(clientId);
    this.removePending(clientId);
  }

  send() {
    const body = this.input.value;
    if (this.files && this.files.count()) { // chat_files.js; what I send goes at the end: show the end
      if (!this.atLatest) this.jumpToLatest();
      this.files.send(body);
      return;
    }
    if (!body.trim()) return;
    if (new TextEncoder().encode(body).length > this.maxBytes) {
      this.error.textContent = fmt(gettext("The message is too long (at most %(max)s bytes)."), {max: this.maxBytes});
      return;
    }
    this.error.textContent = "";
    if (!this.atLatest) this.jumpToLatest(); // what I write goes at the end: show the end
    const item = {client_id: newClientId(), body, ...(this.marking ? this.marking.value() : {})};
    this.outbox.add(item);
    this.renderPending(item);
    this.input.value = "";
    this.updatePreview();
    if (this.socket && this.socket.send(sendFrame(item))) {
      this.setPendingState(item.client_id, gettext("Sending…"));
    }
    this.scrollToEnd();
  }

  // --- composer ----------------------------------------------------------------------------
  bindComposer() {
    const form = $("#composer");
    const markingRoot = $("#composer-marking");
    if (markingRoot) {
      this.marking = markingChooser(markingRoot, {floor: markingRoot.dataset.defaultTlp || "clear",
        centreCode: this.user.centre});
    }
    this.files = attachFiles(this); // files and images: button, drop, paste (chat_files.js)
    form.addEventListener("submit", (e) => { e.preventDefault(); this.send(); this.input.focus(); });
    this.input.addEventListener("keydown", (e) => {
      if (this.mentionKey(e)) return;
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.send();
      } else if (e.key === "ArrowUp" && !this.input.value && !e.altKey && !e.ctrlKey && !e.metaKey && !e.shiftKey) {
        // As in Slack and Zulip: ↑ in an empty composer edits my last message.
        const id = this.lastOwnMessageId();
        if (id !== null) { e.preventDefault(); this.startEdit(id); }
      }
    });
    this.input.addEventListener("input", () => {
      this.sendTyping();
      this.updateMentions();
      this.schedulePreview();
    });
    this.input.addEventListener("blur", () => setTimeout(() => this.closeMentions(), 150));
    const toggle = $("#preview-toggle");
    toggle.addEventListener("click", () => {
      const on = toggle.getAttribute("aria-pressed") !== "true";
      toggle.setAttribute("aria-pressed", String(on));
      $("#preview").hidden = !on;
      this.updatePreview();
    });
    centres().then((list) => { this.centreList = list; });
  }

  sendTyping() {
    const now = Date.now();
    if (!this.input.value.trim() || now - this.lastTypingSent < TYPING_SEND_EVERY) return;
    if (this.socket && this.socket.send({type: "typing"})) this.lastTypingSent = now;
  }

  schedulePreview() {
    clearTimeout(this.previewTimer);
    this.previewTimer = setTimeout(() => this.updatePreview(), 300);
  }

  async updatePreview() {
    const pane = $("#preview");
    if (pane.hidden) return;
    const body = this.input.value;
    if (!body.trim()) { pane.replaceChildren(el("em", {class: "muted"}, gettext("Nothing to preview."))); return; }
    const r = await api("POST", "/ui/preview", {body});
    if (r.ok) setHtml(pane, r.data.html);
    else pane.textContent = r.error.detail;
  }

  /** Move the read marker to the newest message shown (at once after a sync, batched while live). */
  markRead(now = false) {
    if (document.visibilityState !== "visible" || !this.socket || this.lastId <= this.lastReadSent) return;
    clearTimeout(this.readTimer);
    const send = () => {
      if (this.lastId > this.lastReadSent && this.socket.send({type: "read", up_to: this.lastId})) {
        this.lastReadSent = this.lastId;
      }
    };
    if (now) send(); else this.readTimer = setTimeout(send, 500);
  }

  // --- typing & presence -------------------------------------------------------------------
  showTyping(frame) {
    const who = frame.user || frame.author || {};
    const username = who.username || frame.username;
    if (!username || username === this.user.username) return;
    const old = this.typers.get(username);
    if (old) clearTimeout(old.timer);
    const timer = setTimeout(() => { this.typers.delete(username); this.renderTyping(); }, TYPING_SHOW_FOR);
    this.typers.set(username, {name: personName(who) || username, timer});
    this.renderTyping();
  }

  endTyping(username) {
    const old = this.typers.get(username);
    if (!old) return;
    clearTimeout(old.timer);
    this.typers.delete(username);
    this.renderTyping();
  }

  renderTyping() {
    const names = Array.from(this.typers.values(), (v) => v.name);
    $("#typing").textContent = names.length
      ? fmt(ngettext("%(names)s is typing…", "%(names)s are typing…", names.length), {names: names.join(", ")})
      : "";
  }

  /** `{"type":"presence","count":N,"online":[{"centre","count","users":[{username,display_name}]}]}`
   * (docs/chat.md). In a big topic (more online than the server names) the centres come with counts
   * and no names. */
  renderPresence(frame) {
    const groups = new Map();
    for (const group of frame.online || []) {
      const code = centreCode(group.centre) || "—";
      const users = (group.users || []).map((u) => ({...u, centre: group.centre}));
      users.forEach((u) => this.rememberUser(u));
      groups.set(code, {users, count: group.count ?? users.length});
    }
    const box = $("#presence-list");
    box.replaceChildren();
    let unnamed = false;
    for (const code of Array.from(groups.keys()).sort()) {
      const {users, count} = groups.get(code);
      unnamed = unnamed || users.length < count;
      box.append(el("section", {class: "presence-centre"},
        el("h3", {}, `${code} (${count})`),
        users.length ? el("ul", {}, users.map((u) => el("li", {}, personName(u)))) : null));
    }
    if (unnamed) {
      box.append(el("p", {class: "muted presence-unnamed"},
        fmt(gettext("%(count)s people are online: too many to list by name."), {count: frame.count})));
    }
    if (!groups.size) box.append(el("p", {class: "muted"}, gettext("Nobody else is here.")));
  }

  // --- mentions ------------------------------------------------------------------------------
  rememberUser(u) {
    if (u && u.username && !this.knownUsers.has(u.username)) this.knownUsers.set(u.username, u);
  }

  mentionQuery() {
    const caret = this.input.selectionStart;
    const before = this.input.value.slice(0, caret);
    const match = before.match(/(^|\s)@([\w.\-]*)$/u);
    return match ? {query: match[2], start: caret - match[2].length - 1, end: caret} : null;
  }

  updateMentions() {
    const q = this.mentionQuery();
    if (!q) { this.closeMentions(); return; }
    const needle = q.query.toLowerCase();
    const options = [];
    for (const c of this.centreList || []) {
      if (c.code.toLowerCase().startsWith(needle) || (c.name_vi || "").toLowerCase().includes(needle)) {
        options.push({insert: c.code, label: `@${c.code}`, hint: c.name_vi});
      }
    }
    for (const u of this.knownUsers.values()) {
      if (u.username.toLowerCase().startsWith(needle) || personName(u).toLowerCase().includes(needle)) {
        options.push({insert: u.username, label: `@${u.username}`, hint: `${personName(u)} · ${centreCode(u.centre)}`});
      }
    }
    this.mentionOptions = options.slice(0, 8);
    this.mentionRange = q;
    this.mentionActive = 0;
    this.renderMentions();
  }

  renderMentions() {
    const list = $("#mention-list");
    list.replaceChildren();
    if (!this.mentionOptions || !this.mentionOptions.length) { this.closeMentions(); return; }
    this.mentionOptions.forEach((o, i) => {
      const li = el("li", {id: `mention-${i}`, role: "option", "aria-selected": String(i === this.mentionActive),
        class: i === this.mentionActive ? "active" : ""}, el("strong", {}, o.label), " ", el("span", {class: "muted"}, o.hint));
      li.addEventListener("mousedown", (e) => { e.preventDefault(); this.pickMention(i); });
      list.append(li);
    });
    list.hidden = false;
    this.input.setAttribute("aria-activedescendant", `mention-${this.mentionActive}`);
  }

  closeMentions() {
    const list = $("#mention-list");
    list.hidden = true;
    this.mentionOptions = null;
    this.input.removeAttribute("aria-activedescendant");
  }

  /** Keyboard for the suggestion list; returns true when the key was consumed. */
  mentionKey(e) {
    if (!this.mentionOptions || !this.mentionOptions.length) return false;
    const n = this.mentionOptions.length;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      this.mentionActive = (this.mentionActive + (e.key === "ArrowDown" ? 1 : n - 1)) % n;
      this.renderMentions();
    } else if (e.key === "Enter" || e.key === "Tab") {
      this.pickMention(this.mentionActive);
    } else if (e.key === "Escape") {
      this.closeMentions();
    } else {
      return false;
    }
    e.preventDefault();
    return true;
  }

  pickMention(i) {
    const o = this.mentionOptions[i];
    const {start, end} = this.mentionRange;
    const v = this.input.value;
    this.input.value = `${v.slice(0, start)}@${o.insert} ${v.slice(end)}`;
    const caret = start + o.insert.length + 2;
    this.input.setSelectionRange(caret, caret);
    this.closeMentions();
    this.input.focus();
  }

  // --- sidebar & search ----------------------------------------------------------------------
  async loadSidebar() {
    await renderTopicList($("#topic-list"), this.slug);
  }

  bindSearch() {
    bindTopicSearch(this.slug); // search.js: highlighted matches, jump links, "all topics"
  }
}

/** The topic list with unread badges (home page and topic sidebar). */
export async function renderTopicList(ul, currentSlug = null) {
  if (!ul) return;
  const r = await api("GET", "/api/v1/topics");
  if (!r.ok) { ul.replaceChildren(el("li", {class: "error"}, r.error.detail)); return; }
  const en = (document.documentElement.lang || "vi").startsWith("en");
  ul.replaceChildren();
  for (const topic of resultsOf(r.data)) {
    const name = topic.name || (en ? topic.name_en : topic.name_vi) || topic.slug;
    const unread = topic.slug === currentSlug ? 0 : (topic.unread || topic.unread_count || 0);
    const link = el("a", {href: `/topics/${encodeURIComponent(topic.slug)}/`,
      "aria-current": topic.slug === currentSlug ? "page" : null}, name);
    if (unread) {
      link.append(" ", el("span", {class: "badge", "aria-label": fmt(ngettext("%(n)s unread message", "%(n)s unread messages", unread), {n: unread})},
        String(unread)));
    }
    ul.append(el("li", {dataset: {slug: topic.slug}}, link));
  }
  if (!ul.children.length) ul.append(el("li", {class: "muted"}, gettext("No topics yet.")));
}

export function startTopic(root) {
  const view = new TopicView(root);
  view.start();
  window.hubTopic = view; // for debugging in the console
  return view;
}
