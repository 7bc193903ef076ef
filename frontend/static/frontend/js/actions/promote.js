// Promote a message (and the ones around it) to a security alert or a support request, and show on
// every message its marking and what it became (chat.promotion, docs/chat.md "Promoting").
//
// The dialog starts from the server's draft (GET …/promote): the fields prefilled from the
// messages, with the indicators the alert's parser found for the person to confirm, and a marking
// that keeps the new item within the messages' readers. When no marking can, the dialog says who
// could not read them and offers to promote without quoting their text.

import {registerMessageAction, registerMessagePart} from "../message_actions.js";
import {quotedMessages} from "../origin.js";
import {tlpLabel, tlpSelect} from "../tlp.js";
import {$$, api, centres, el, fmt, gettext, label} from "../util.js";

const KIND_LABEL = {alert: () => gettext("Alert"), ticket: () => gettext("Request")};
const KIND_URL = {alert: (id) => `/alerts/${id}/`, ticket: (id) => `/tickets/${id}/`};

function linkTo(link) {
  return el("a", {href: KIND_URL[link.kind](link.id), class: `promoted-link promoted-${link.kind}`},
    `${KIND_LABEL[link.kind]()} #${link.id}`);
}

// --- what every message shows: its marking, and what it became -----------------------------------
registerMessagePart({
  id: "marking",
  order: 5,
  render: (m, ctx) => {
    if (ctx.deleted || !m.tlp) return null;
    const links = (m.promoted_to || []).map(linkTo);
    return el("div", {class: "msg-marking"},
      tlpLabel(m.tlp, {scope: Array.isArray(m.shared_with) ? m.shared_with : null}),
      links.length ? el("span", {class: "promoted"}, " · ", gettext("Promoted to"), " ", ...links.flatMap(
        (a, i) => (i ? [", ", a] : [a]))) : null);
  },
});

const promoted = (m, kind) => (m.promoted_to || []).some((p) => p.kind === kind);

registerMessageAction({
  id: "promote-alert",
  label: () => gettext("Promote to an alert"),
  icon: "alert",
  order: 60,
  when: (m, ctx) => !ctx.deleted && Boolean(ctx.user.can_raise_alerts) && !promoted(m, "alert"),
  run: (m, ctx) => openPromotion(m, ctx, "alert"),
});

registerMessageAction({
  id: "promote-ticket",
  label: () => gettext("Make a support request"),
  icon: "ticket",
  order: 61,
  when: (m, ctx) => !ctx.deleted && Boolean(ctx.user.centre) && !promoted(m, "ticket"),
  run: (m, ctx) => openPromotion(m, ctx, "ticket"),
});

// --- the dialog --------------------------------------------------------------------------------------

function field(labelText, control, hint = null) {
  const id = control.id || `p-${control.name}`;
  control.id = id;
  return el("div", {class: "field"}, el("label", {for: id}, labelText), control, hint);
}

function select(name, options, value) {
  const node = el("select", {name});
  for (const [v, text] of options) node.append(el("option", {value: v, selected: v === value}, text));
  return node;
}

async function centreSelect(name, values, {multiple = false, blank = null, exclude = null} = {}) {
  const node = el("select", {name, multiple, size: multiple ? 4 : null, class: "centre-select"});
  if (blank) node.append(el("option", {value: ""}, blank));
  for (const c of await centres()) {
    if (c.code === exclude) continue;
    node.append(el("option", {value: c.code, selected: (values || []).includes(c.code)}, `${c.code} — ${c.name_vi}`));
  }
  return node;
}

async function alertFields(fields) {
  const {select: tlp, meaning} = tlpSelect({name: "tlp", value: fields.tlp});
  const shared = await centreSelect("shared_with", fields.shared_with, {multiple: true});
  const checks = el("ul", {class: "indicator-checks"}, (fields.indicators || []).map((i, n) => el("li", {},
    el("label", {class: "check"}, el("input", {type: "checkbox", name: "indicator", value: String(n), checked: true}),
      el("span", {}, `${i.type}: `), el("code", {}, i.value)))));
  return {
    nodes: [
      field(gettext("Title"), el("input", {name: "title", value: fields.title || "", maxlength: 200, required: true})),
      el("div", {class: "row"},
        field(gettext("Severity"), select("severity", ["low", "medium", "high", "critical"].map((v) => [v, label(v)]),
          fields.severity)),
        field(gettext("TLP marking"), tlp, meaning)),
      field(gettext("Share with these centres (besides yours)"), shared,
        el("p", {class: "muted hint"}, gettext("For TLP:AMBER, AMBER+STRICT and RED; none: AMBER reaches every centre, RED only yours."))),
      field(gettext("Description (Markdown)"), el("textarea", {name: "description", rows: 4}, fields.description || "")),
      el("fieldset", {}, el("legend", {}, gettext("Indicators found in the messages (uncheck the wrong ones)")),
        (fields.indicators || []).length ? checks : el("p", {class: "muted"}, gettext("None found."))),
    ],
    read(form) {
      const picked = Array.from(form.querySelectorAll("input[name=indicator]:checked"), (c) => fields.indicators[Number(c.value)]);
      const f = form.elements;
      return {title: f.title.value.trim(), severity: f.severity.value, tlp: f.tlp.value,
        shared_with: Array.from(f.shared_with.selectedOptions, (o) => o.value),
        description: f.description.value, indicators: picked};
    },
  };
}

async function ticketFields(fields, ctx) {
  const vocabulary = await api("GET", "/api/v1/ticket-vocabulary");
  const labels = (key) => (vocabulary.ok ? vocabulary.data[key].map((c) => [c.value, c.label]) : []);
  const {select: tlp, meaning} = tlpSelect({name: "tlp", floor: "clear", value: fields.tlp});
  const target = await centreSelect("target_centre", fields.target_centre ? [fields.target_centre] : [],
    {blank: gettext("Any centre"), exclude: ctx.user.centre});
  return {
    nodes: [
      field(gettext("Title"), el("input", {name: "title", value: fields.title || "", maxlength: 200, required: true})),
      el("div", {class: "row"},
        field(gettext("Category"), select("category", labels("categories"), fields.category)),
        field(gettext("Priority"), select("priority", labels("priorities"), fields.priority)),
        field(gettext("Requested of"), target)),
      field(gettext("TLP marking"), tlp, meaning),
      field(gettext("Description (Markdown)"), el("textarea", {name: "description", rows: 4}, fields.description || "")),
    ],
    read(form) {
      const f = form.elements;
      return {title: f.title.value.trim(), category: f.category.value, priority: f.priority.value,
        target_centre: f.target_centre.value || null, tlp: f.tlp.value, description: f.description.value};
    },
  };
}

async function openPromotion(message, ctx, kind) {
  const base = `/api/v1/topics/${encodeURIComponent(ctx.slug)}/messages/${message.id}/promote`;
  const r = await api("GET", `${base}?to=${kind}`);
  if (!r.ok) { ctx.fail(r.error.detail); return; }
  const draft = r.data;
  const parts = kind === "alert" ? await alertFields(draft.fields) : await ticketFields(draft.fields, ctx);
  const titleId = `promote-title-${message.id}`;
  const error = el("p", {class: "error", role: "alert"});
  const withoutText = el("input", {type: "checkbox", name: "quote_off", checked: draft.too_wide.length > 0});
  const warning = el("div", {class: "promotion-warning", hidden: draft.too_wide.length === 0},
    el("p", {}, fmt(gettext("These messages are limited: %(who)s may not read them. Narrow the marking, or leave their text out."),
      {who: draft.too_wide.join(", ")})),
    el("label", {class: "check"}, withoutText, gettext("Leave the messages' text out (keep who wrote them, when and the link)")));
  const submit = el("button", {type: "submit", class: "primary"},
    kind === "alert" ? gettext("Raise the alert") : gettext("Open the request"));
  const form = el("form", {method: "dialog", class: "stack-form promotion-form"},
    el("h2", {id: titleId}, kind === "alert" ? gettext("Promote to an alert") : gettext("Make a support request")),
    el("p", {class: "muted"}, gettext("It will quote these messages and name you as the one who promoted them.")),
    quotedMessages(draft.messages), warning, ...parts.nodes, error,
    el("div", {class: "dialog-actions"},
      el("button", {type: "button", class: "secondary", onclick: () => dialog.close()}, gettext("Cancel")), submit));
  const dialog = el("dialog", {class: "promotion-dialog", "aria-labelledby": titleId}, form);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    for (const bad of $$("[aria-invalid]", form)) bad.removeAttribute("aria-invalid");
    const payload = {to: kind, ...parts.read(form), quote: !withoutText.checked};
    if (!payload.title) {
      form.elements.title.setAttribute("aria-invalid", "true");
      error.textContent = gettext("A title is required.");
      form.elements.title.focus();
      return;
    }
    submit.disabled = true;
    const answer = await api("POST", base, payload);
    submit.disabled = false;
    if (answer.ok) {
      const made = answer.data[kind];
      dialog.close();
      ctx.update({...message, promoted_to: [...(message.promoted_to || []), {kind, id: made.id}]});
      ctx.say(fmt(kind === "alert" ? gettext("Alert #%(id)s raised.") : gettext("Request %(ref)s opened."),
        {id: made.id, ref: made.reference || `#${made.id}`}));
      return;
    }
    if (answer.status === 409 && answer.error.promoted_to) {
      error.replaceChildren(answer.error.detail, " ", linkTo(answer.error.promoted_to));
      return;
    }
    error.textContent = answer.error.detail;
    if (answer.status === 403 && (answer.error.fields || []).includes("tlp")) warning.hidden = false;
    for (const name of answer.error.fields || []) {
      const node = form.elements[name.split(".")[0]];
      if (node && node.setAttribute) node.setAttribute("aria-invalid", "true");
    }
  });
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  const first = form.querySelector("input[name=title]");
  if (first) first.focus();
}
