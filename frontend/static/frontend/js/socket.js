// A WebSocket that comes back: exponential backoff with jitter (each wait random between half and all
// of a doubling ceiling; tests/frontend/test_reconnect_backoff.py), immediate retry when the
// browser says it is online again, and a clear state for the UI. It knows nothing about frames;
// pages decide what to send on (re)connect (e.g. `sync` from their last message id). It asks the
// hub for `batch` frames (?batch=1: events that reach the socket together come as one frame,
// docs/chat.md) and hands their frames to the page one by one, in order. One frame it acts on itself,
// for every page: `access.changed` (the person's rights changed) reloads the page (access.js); it
// sends the rights the page was rendered with (`?access=`), so a change the page missed — before the
// socket opened, or while it was away — is told as soon as it (re)connects.

import {accessChanged, pageAccess} from "./access.js";

const TERMINAL = new Set([4401, 4403, 4404]); // not authenticated, not allowed, no such topic
// 4401 gets one fresh handshake first: a socket is closed when its session ends, and a session
// that was only renewed (a password change gives this browser a new session key) signs in again.
const NOT_AUTHENTICATED = 4401;

export class LiveSocket {
  /**
   * @param {string} path  e.g. "/ws/topics/an-toan-thong-tin/"
   * @param {{onOpen?: Function, onFrame?: Function, onState?: Function}} handlers
   *   onState(state, detail) with state in "connecting" | "live" | "reconnecting" | "offline" | "closed"
   */
  constructor(path, handlers = {}, {baseDelay = 500, maxDelay = 30000} = {}) {
    this.path = path;
    this.handlers = handlers;
    this.baseDelay = baseDelay;
    this.maxDelay = maxDelay;
    this.attempt = 0;
    this.ws = null;
    this.timer = null;
    this.stopped = false;
    this.everOpened = false;
    this.authRetried = false;
    window.addEventListener("online", () => this.retryNow());
    // A dead link can leave a socket looking open for a long time; when the browser knows the
    // network is gone, drop the socket at once so the page shows it and re-syncs later.
    window.addEventListener("offline", () => this.drop("offline"));
  }

  url() {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    const access = pageAccess();
    const query = `${this.path.includes("?") ? "&" : "?"}batch=1${access ? `&access=${encodeURIComponent(access)}` : ""}`;
    return `${scheme}//${window.location.host}${this.path}${query}`;
  }

  start() {
    this.stopped = false;
    this.connect();
    return this;
  }

  get isOpen() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  setState(state, detail) {
    this.state = state;
    if (this.handlers.onState) this.handlers.onState(state, detail);
  }

  connect() {
    clearTimeout(this.timer);
    this.timer = null;
    if (this.stopped) return;
    if (navigator.onLine === false) {
      this.setState("offline");
      return; // the "online" event brings us back
    }
    this.setState(this.everOpened ? "reconnecting" : "connecting");
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch (e) {
      this.schedule();
      return;
    }
    this.ws = ws;
    ws.addEventListener("open", () => {
      if (this.ws !== ws) return;
      this.attempt = 0;
      this.everOpened = true;
      this.setState("live");
      if (this.handlers.onOpen) this.handlers.onOpen();
    });
    ws.addEventListener("message", (event) => {
      if (this.ws !== ws) return;
      this.authRetried = false; // the hub talks to us: signed in
      let frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      const frames = frame && frame.type === "batch" && Array.isArray(frame.frames) ? frame.frames : [frame];
      for (const one of frames) {
        if (this.ws !== ws) return; // a handler dropped the socket
        if (one && one.type === "access.changed") {
          accessChanged(); // what the page shows was chosen with the old rights: load it again
          return;
        }
        if (this.handlers.onFrame) this.handlers.onFrame(one);
      }
    });
    ws.addEventListener("close", (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (event.code === NOT_AUTHENTICATED && !this.authRetried && !this.stopped) {
        this.authRetried = true;
        this.connect();
        return;
      }
      if (TERMINAL.has(event.code)) {
        this.stopped = true;
        this.setState("closed", event.code);
        return;
      }
      this.schedule();
    });
  }

  /** Next attempt after base·2^n (capped), scaled by a random factor so that a hundred clients
   * cut by the same outage do not all come back in the same millisecond. */
  schedule() {
    if (this.stopped) return;
    const ceiling = Math.min(this.maxDelay, this.baseDelay * 2 ** this.attempt);
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.attempt = Math.min(this.attempt + 1, 16);
    this.setState(navigator.onLine === false ? "offline" : "reconnecting", Math.round(delay));
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  retryNow() {
    if (this.stopped || this.isOpen) return;
    if (this.ws && this.ws.readyState === WebSocket.CONNECTING) return;
    this.attempt = 0;
    this.connect();
  }

  drop(reason) {
    if (!this.ws) {
      if (reason === "offline") this.setState("offline");
      return;
    }
    const ws = this.ws;
    this.ws = null;
    try { ws.close(); } catch (e) { /* already closing */ }
    this.setState(reason === "offline" ? "offline" : "reconnecting");
    if (reason !== "offline") this.schedule();
  }

  /** Send a frame if the socket is open; returns whether it was handed to the browser. */
  send(frame) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.close();
    }
    this.setState("closed");
  }
}
