// Files and images in chat (docs/chat.md "Files and images", docs/ui.md): an "Attach files" button,
// files dropped anywhere on the topic page or pasted into the message box wait in a tray under the
// box (images with a preview) until Send posts them with the text as ONE message
// (POST /api/v1/topics/{slug}/files, multipart). The server decides what is accepted (the hub's one
// upload rule: the request attachments' size and types, .log/.txt as text) and its translated
// refusal is shown next to the composer, keeping the text and the files. Under every message its
// files are shown: an image as a thumbnail that opens the full image, other files as a download.
//
// Self-contained: the topic view calls attachFiles(view) once and asks `files.count()` /
// `files.send(body)` when Send is pressed; the message part registers itself below.

import {registerMessagePart} from "./message_actions.js";
import {api, el, fmt, gettext, icon, me} from "./util.js";

/** "2,4 MB" in the page's language. */
export function fileSize(bytes) {
  const lang = document.documentElement.lang || "vi";
  const units = ["B", "KB", "MB", "GB"];
  let n = Number(bytes) || 0;
  let unit = 0;
  while (n >= 1024 && unit < units.length - 1) { n /= 1024; unit += 1; }
  return `${n.toLocaleString(lang, {maximumFractionDigits: unit ? 1 : 0})} ${units[unit]}`;
}

function clientId() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  return `f-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

// --- under each message: its files ----------------------------------------------------------------
registerMessagePart({
  id: "attachments",
  order: 5, // right under the text, before reactions and thread replies
  render(m, ctx) {
    const files = Array.isArray(m.attachments) ? m.attachments : [];
    if (!files.length || ctx.deleted) return null;
    return el("ul", {class: "msg-files", "aria-label": gettext("Files")}, files.map((f) => {
      if (f.image && f.thumbnail_url) {
        const img = el("img", {src: f.thumbnail_url, alt: f.name, loading: "lazy", decoding: "async",
          width: f.width && f.height ? Math.min(f.width, Math.round(f.width * Math.min(1, 240 / f.height, 360 / f.width))) : null,
          height: f.width && f.height ? Math.min(f.height, Math.round(f.height * Math.min(1, 240 / f.height, 360 / f.width))) : null});
        return el("li", {class: "msg-file image"},
          el("a", {href: f.url, target: "_blank", rel: "noopener", class: "msg-image",
            title: fmt(gettext("Open %(name)s full size"), {name: f.name})}, img));
      }
      return el("li", {class: "msg-file"},
        el("a", {href: f.url, download: f.name, class: "msg-download"}, icon("attach", 16), " ", f.name),
        " ", el("span", {class: "muted"}, fileSize(f.size)));
    }));
  },
});

// --- the composer's tray -----------------------------------------------------------------------------
class FileTray {
  constructor(view) {
    this.view = view;
    this.files = [];
    this.previewOf = new WeakMap(); // File → Promise of its data: address
    this.busy = false;
    const user = me() || {};
    this.maxBytes = user.max_file_bytes || 10 * 1024 * 1024;
    this.maxFiles = user.max_files || 10;
    const actions = document.querySelector("#composer .composer-actions");
    this.input = el("input", {type: "file", id: "file-input", multiple: true, hidden: true,
      "aria-label": gettext("Attach files"), dataset: {testid: "file-input"}});
    this.button = el("button", {type: "button", id: "attach-files", class: "secondary",
      "aria-label": gettext("Attach files"), title: gettext("Attach files (or drop them here, or paste an image)")},
    icon("attach", 16), " ", el("span", {class: "attach-label"}, gettext("Attach")));
    this.tray = el("ul", {id: "composer-files", class: "composer-files", "aria-label": gettext("Files to send"),
      "aria-live": "polite", hidden: true});
    actions.prepend(this.button, this.input);
    actions.before(this.tray);
    this.button.addEventListener("click", () => this.input.click());
    this.input.addEventListener("change", () => { this.add(this.input.files); this.input.value = ""; });
    this.bindDrop(view.root);
    view.input.addEventListener("paste", (e) => {
      const pasted = e.clipboardData && e.clipboardData.files;
      if (pasted && pasted.length) { e.preventDefault(); this.add(pasted); }
    });
  }

  bindDrop(zone) {
    let depth = 0;
    const hasFiles = (e) => e.dataTransfer && Array.from(e.dataTransfer.types || []).includes("Files");
    zone.addEventListener("dragenter", (e) => {
      if (!hasFiles(e)) return;
      depth += 1;
      zone.classList.add("drop-target");
    });
    zone.addEventListener("dragover", (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = "copy";
    });
    zone.addEventListener("dragleave", () => {
      depth = Math.max(0, depth - 1);
      if (!depth) zone.classList.remove("drop-target");
    });
    zone.addEventListener("drop", (e) => {
      depth = 0;
      zone.classList.remove("drop-target");
      if (!e.dataTransfer || !e.dataTransfer.files || !e.dataTransfer.files.length) return;
      e.preventDefault();
      this.add(e.dataTransfer.files);
      this.view.input.focus();
    });
  }

  count() { return this.files.length; }

  add(list) {
    const error = this.view.error;
    error.textContent = "";
    for (const file of Array.from(list || [])) {
      if (this.files.length >= this.maxFiles) {
        error.textContent = fmt(gettext("At most %(n)s files per message."), {n: this.maxFiles});
        break;
      }
      if (file.size > this.maxBytes) {
        // The server refuses it too (413); saying so now spares the upload.
        error.textContent = fmt(gettext("%(name)s is larger than %(limit)s."), {name: file.name, limit: fileSize(this.maxBytes)});
        continue;
      }
      this.files.push(file);
    }
    this.render();
  }

  remove(file) {
    this.files = this.files.filter((f) => f !== file);
    this.render();
  }

  render() {
    this.tray.replaceChildren(...this.files.map((file) => {
      let preview = null;
      if (/^image\/(png|jpeg|gif)$/.test(file.type)) {
        // A data: address (the page's CSP allows data: images, not blob:), read once per file.
        preview = el("img", {alt: "", class: "file-preview"});
        if (!this.previewOf.has(file)) {
          const reader = new FileReader();
          this.previewOf.set(file, new Promise((resolve) => {
            reader.onload = () => resolve(String(reader.result));
            reader.onerror = () => resolve("");
          }));
          reader.readAsDataURL(file);
        }
        const img = preview;
        this.previewOf.get(file).then((url) => { if (url) img.src = url; });
      }
      return el("li", {class: "composer-file"}, preview || icon("attach", 16), " ",
        el("span", {class: "file-name"}, file.name), " ", el("span", {class: "muted"}, fileSize(file.size)), " ",
        el("button", {type: "button", class: "link-button", onclick: () => this.remove(file),
          "aria-label": fmt(gettext("Remove %(name)s"), {name: file.name})}, "×"));
    }));
    this.tray.hidden = !this.files.length;
  }

  /** Post the waiting files with the composer's text as one message; keeps both if it fails. */
  async send(body) {
    if (this.busy) return;
    const view = this.view;
    if (new TextEncoder().encode(body).length > view.maxBytes) {
      view.error.textContent = fmt(gettext("The message is too long (at most %(max)s bytes)."), {max: view.maxBytes});
      return;
    }
    const form = new FormData();
    for (const file of this.files) form.append("file", file, file.name);
    form.append("body", body);
    form.append("client_id", clientId());
    const marking = view.marking ? view.marking.value() : {};
    if (marking.tlp) form.append("tlp", marking.tlp);
    if (marking.shared_with !== undefined) form.append("shared_with", JSON.stringify(marking.shared_with));
    this.busy = true;
    this.button.disabled = true;
    view.error.textContent = "";
    view.say(gettext("Uploading…"));
    const r = await api("POST", `/api/v1/topics/${encodeURIComponent(view.slug)}/files`, form, {form: true});
    this.busy = false;
    this.button.disabled = false;
    if (!r.ok) {
      view.say("");
      view.error.textContent = (r.error && r.error.detail) || gettext("The files could not be sent.");
      return;
    }
    this.files = [];
    this.render();
    view.input.value = "";
    view.say(gettext("Sent."));
    view.upsert(r.data, {live: true}); // the socket brings the same message; ids are shown once
    view.scrollToEnd();
  }
}

export function attachFiles(view) {
  if (!document.querySelector("#composer .composer-actions")) return null;
  return new FileTray(view);
}
