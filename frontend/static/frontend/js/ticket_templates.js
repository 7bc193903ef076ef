// Request templates: the ones I may use (my centre's, and those shared with every centre); a
// centre's managers add, change and delete their own here, with a TLP and the choice to share (the
// API decides who may: `can_edit` on each template; docs/tickets.md "Templates").

import {$, api, el, fillCentreSelects, gettext, label, me} from "./util.js";
import {tlpLabel, tlpSelect} from "./tlp.js";

export async function startTemplates() {
  const user = me();
  const list = $("#template-list");
  const form = $("#template-form");
  const error = $("#templates-error");
  await fillCentreSelects(form);
  const {select: tlp, meaning} = tlpSelect({id: "tp-tlp", value: "amber"});
  $("#tp-tlp-wrap").replaceChildren(tlp, " ", meaning);
  const newButton = $("#template-new");
  newButton.hidden = !(user && user.is_manager);

  function edit(t) {
    form.hidden = false;
    $("#template-form-title").textContent = t ? gettext("Change template") : gettext("New template");
    form.elements.id.value = t ? String(t.id) : "";
    form.elements.name.value = t ? t.name : "";
    form.elements.category.value = t ? t.category : "training";
    form.elements.priority.value = t ? t.priority : "normal";
    form.elements.target_centre.value = t && t.target_centre ? t.target_centre : "";
    form.elements.title.value = t ? t.title : "";
    form.elements.description.value = t ? t.description : "";
    form.elements.checklist.value = t ? t.checklist.join("\n") : "";
    tlp.value = t ? t.tlp : "amber";
    tlp.dispatchEvent(new Event("change"));
    form.elements.shared.checked = t ? t.shared : false;
    form.elements.name.focus();
  }

  async function load() {
    const r = await api("GET", "/api/v1/ticket-templates");
    if (!r.ok) { error.textContent = r.error.detail; return; }
    list.replaceChildren(...r.data.map((t) => {
      const actions = [];
      if (t.can_edit) {
        const change = el("button", {type: "button", class: "link-button edit-template"}, gettext("Change"));
        change.addEventListener("click", () => edit(t));
        const remove = el("button", {type: "button", class: "link-button danger delete-template"}, gettext("Delete"));
        remove.addEventListener("click", async () => {
          if (!window.confirm(gettext("Delete this template? Requests opened from it keep their text."))) return;
          const d = await api("DELETE", `/api/v1/ticket-templates/${t.id}`);
          if (!d.ok) { error.textContent = d.error.detail; return; }
          load();
        });
        actions.push(" ", change, " ", remove);
      }
      return el("li", {class: "card", dataset: {templateId: String(t.id)}},
        el("strong", {}, t.name), " ", el("span", {class: "centre-tag"}, t.centre), " ", tlpLabel(t.tlp), " · ",
        label(t.category), " · ", label(t.priority), " · ",
        el("span", {class: "template-sharing muted"}, t.shared ? gettext("shared with every centre")
          : gettext("only its centre")), " ",
        el("a", {href: `/tickets/new/?template=${t.id}`, class: "use-template"}, gettext("Open a request from it")),
        ...actions,
        t.checklist.length ? el("ul", {}, ...t.checklist.map((item) => el("li", {}, item))) : "");
    }));
    if (!r.data.length) list.append(el("li", {class: "muted"}, gettext("No templates yet.")));
  }

  newButton.addEventListener("click", () => edit(null));
  $("#tp-cancel").addEventListener("click", () => { form.hidden = true; });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    const payload = {
      name: form.elements.name.value.trim(),
      category: form.elements.category.value,
      priority: form.elements.priority.value,
      target_centre: form.elements.target_centre.value || null,
      title: form.elements.title.value.trim(),
      description: form.elements.description.value,
      checklist: form.elements.checklist.value.split("\n").map((s) => s.trim()).filter(Boolean),
      tlp: tlp.value,
      shared: form.elements.shared.checked,
    };
    const id = form.elements.id.value;
    const r = id ? await api("PATCH", `/api/v1/ticket-templates/${id}`, payload)
      : await api("POST", "/api/v1/ticket-templates", payload);
    if (!r.ok) { error.textContent = r.error.detail; return; }
    form.hidden = true;
    load();
  });
  load();
}
