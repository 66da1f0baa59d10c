/* The policy editor page: tabs, live preview, save / revision / create, Istio objects, simulate.
 *
 * One state, two editors. Whichever tab the user last typed in (Form or YAML) is the source; a
 * debounced POST of its content to the preview endpoint answers with the CR YAML, the findings,
 * the hop lines and the Istio objects, and the other tab is refreshed from that answer. Nothing
 * is ever thrown away: YAML the form cannot show stays in the YAML tab, and a refused save keeps
 * the user's work on the page.
 */
(function () {
  "use strict";

  const DEBOUNCE_MS = 150;
  const config = JSON.parse(document.getElementById("editor-config").textContent);
  const S = config.strings;
  const $ = (selector, root) => (root || document).querySelector(selector);
  const $$ = (selector, root) => Array.from((root || document).querySelectorAll(selector));

  const state = {
    source: "form",
    doc: config.document,
    version: config.version,
    preview: null,
    dirty: false,
    timer: null,
    seq: 0,
    controller: null,
    formStale: false,
    leaving: false,
  };

  const form = new window.PolicyForm($("[data-panel=form]"), {
    ports: config.gateway.ports, strings: S, onChange: onFormChange,
  });
  const yamlEditor = new window.YamlEditor($("[data-role=yaml-editor]"), { onInput: onYamlInput });
  yamlEditor.textarea.setAttribute("aria-label", "YAML");

  /* ---------- helpers ---------- */

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    const field = $("input[name=csrfmiddlewaretoken]");
    return match ? decodeURIComponent(match[1]) : field ? field.value : "";
  }

  async function postJson(url, body, signal) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), Accept: "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
      signal: signal,
    });
    let data = {};
    try { data = await response.json(); } catch (err) { data = {}; }
    return { ok: response.ok, status: response.status, data: data };
  }

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, (m, key) => (key in values ? values[key] : m));
  }

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function download(filename, text) {
    const link = el("a");
    link.href = URL.createObjectURL(new Blob([text], { type: "application/yaml" }));
    link.download = filename;
    document.body.appendChild(link);
    link.click();
    link.remove();
  }

  async function copy(text, button) {
    try { await navigator.clipboard.writeText(text); } catch (err) { fallbackCopy(text); }
    const label = button.textContent;
    button.textContent = S.copied;
    setTimeout(() => { button.textContent = label; }, 1200);
  }

  function fallbackCopy(text) {
    const area = el("textarea");
    area.value = text;
    document.body.appendChild(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }

  function policyName() {
    const meta = (state.doc && state.doc.metadata) || {};
    return typeof meta.name === "string" && meta.name ? meta.name : "policy";
  }

  /* ---------- banner and status ---------- */

  /* `untilEdit`: the message describes this state only (e.g. a refused save's error count); the next
   * edit's preview hides it, so it never contradicts the live badge. */
  function banner(kind, message, actions, untilEdit) {
    const box = $("[data-role=banner]");
    box.className = `alert alert-${kind}`;
    box.dataset.untilEdit = untilEdit ? "true" : "";
    box.replaceChildren(el("span", "", message));
    (actions || []).forEach(([label, handler]) => {
      const button = el("button", "btn btn-small", label);
      button.type = "button";
      button.addEventListener("click", handler);
      box.appendChild(button);
    });
    box.hidden = false;
  }

  function setDirty(dirty) {
    state.dirty = dirty;
    $("[data-role=dirty]").hidden = !dirty;
  }

  function showValidity(counts) {
    const tag = $("[data-role=validity]");
    if (counts.error) { tag.className = "tag tag-error"; tag.textContent = format(S.errors, { n: counts.error }); }
    else if (counts.warning) { tag.className = "tag tag-warning"; tag.textContent = format(S.warnings, { n: counts.warning }); }
    else { tag.className = "tag tag-success"; tag.textContent = S.valid; }
  }

  /* ---------- live preview ---------- */

  function onFormChange() {
    state.source = "form";
    state.formStale = false;
    state.doc = form.serialize();
    setDirty(true);
    schedule({ document: state.doc });
  }

  function onYamlInput(text) {
    state.source = "yaml";
    state.formStale = true;
    setDirty(true);
    schedule({ text: text });
  }

  function schedule(body) {
    clearTimeout(state.timer);
    state.pending = body;
    document.body.dataset.previewPending = "true";
    $("[data-role=preview-state]").textContent = "…";
    state.timer = setTimeout(flush, DEBOUNCE_MS);
  }

  /* Send the pending change now; resolves with the preview that answers it. */
  async function flush() {
    clearTimeout(state.timer);
    const body = state.pending;
    if (!body) return state.preview;
    state.pending = null;
    if (state.controller) state.controller.abort();
    state.controller = new AbortController();
    const seq = ++state.seq;
    let result;
    try {
      result = await postJson(config.urls.preview, body, state.controller.signal);
    } catch (err) {
      if (err.name === "AbortError") return state.preview;
      delete document.body.dataset.previewPending;
      banner("error", format(S.requestFailed, { status: err.message }), [], true);
      return state.preview;
    }
    if (seq !== state.seq) return state.preview;
    if (!state.pending) delete document.body.dataset.previewPending;
    if (!result.ok) {
      banner("error", result.data.message || format(S.requestFailed, { status: result.status }), [], true);
      return state.preview;
    }
    applyPreview(result.data, body.text !== undefined ? "yaml" : "form");
    return result.data;
  }

  function applyPreview(preview, origin) {
    state.preview = preview;
    const box = $("[data-role=banner]");
    if (origin !== "saved" && box.dataset.untilEdit) { box.hidden = true; box.dataset.untilEdit = ""; }
    $("[data-role=preview-state]").textContent = "";
    if (origin === "form" && state.source === "form") yamlEditor.setValue(preview.yaml);
    if (origin === "yaml") state.doc = preview.data;
    renderHighlighted($("[data-role=preview-yaml]"), preview.yaml, preview.findings);
    yamlEditor.setMarkers(preview.findings);
    renderProblems($("[data-role=problems]"), preview.findings);
    renderProblems($("[data-role=yaml-problems]"), preview.findings, true);
    if (!state.formStale) { form.showFindings(preview.findings); form.showHops(preview.hops); }
    showValidity(preview.counts);
    renderObjects(preview);
  }

  function renderHighlighted(pre, text, findings) {
    const marks = {};
    findings.forEach((f) => { if (f.line) marks[f.line] = window.YamlEditor.stronger(marks[f.line], f.severity); });
    pre.innerHTML = window.YamlEditor.highlight(text, marks);
  }

  const SEVERITY_RANK = { error: 0, warning: 1, info: 2 };

  /* Errors first, then warnings, then infos (each in document order): what blocks saving is never below the fold. */
  function renderProblems(box, findings, byLine) {
    box.replaceChildren();
    if (!findings.length) { box.appendChild(el("div", "problem ok", S.noProblems)); return; }
    const ordered = findings.slice().sort((a, b) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity]);
    ordered.forEach((f) => {
      const item = el("button", `problem ${f.severity}`);
      item.type = "button";
      item.dataset.line = f.line || "";
      item.dataset.path = f.path;
      item.appendChild(el("span", "problem-where", byLine && f.line ? format(S.line, { n: f.line }) : f.path || S.document));
      item.appendChild(el("span", "problem-text", f.message));
      item.appendChild(el("span", "problem-code", f.code));
      item.addEventListener("click", () => (byLine ? yamlEditor.focusLine(f.line || 1) : focusField(f.path)));
      box.appendChild(item);
    });
  }

  function focusField(path) {
    const target = form.target(path || "");
    if (!target) { activate("yaml"); return; }
    const input = target.matches("input, select") ? target : target.querySelector("input, select");
    target.scrollIntoView({ block: "center", behavior: "smooth" });
    if (input) input.focus({ preventScroll: true });
  }

  /* ---------- tabs ---------- */

  async function activate(name) {
    $$("[role=tab]").forEach((tab) => {
      const on = tab.dataset.tab === name;
      tab.classList.toggle("active", on);
      tab.setAttribute("aria-selected", String(on));
      tab.tabIndex = on ? 0 : -1;
    });
    $$("[data-panel]").forEach((panel) => { panel.hidden = panel.dataset.panel !== name; });
    history.replaceState(null, "", `#${name}`);
    if (state.pending) await flush();
    if (name === "form") showFormFromYaml();
    if (name === "simulate" && !state.matrixShown) loadMatrix();
  }

  function showFormFromYaml() {
    const blocked = $("[data-role=form-blocked]");
    if (!state.formStale) { blocked.hidden = true; return; }
    const readable = window.PolicyForm.representable(state.doc);
    blocked.hidden = readable;
    blocked.textContent = S.yamlUnreadable;
    $("[data-role=form]").hidden = !readable;
    if (!readable) return;
    form.load(state.doc);
    state.formStale = false;
    if (state.preview) { form.showFindings(state.preview.findings); form.showHops(state.preview.hops); }
  }

  /* The document as the active editor has it, after any pending preview. */
  async function currentDocument() {
    await flush();
    return state.source === "form" ? form.serialize() : state.doc;
  }

  /* ---------- Istio objects ---------- */

  function renderObjects(preview) {
    const box = $("[data-role=objects]");
    const open = new Set($$("details[open]", box).map((d) => d.dataset.key));
    $("[data-role=object-count]").textContent = preview.objects.length ? String(preview.objects.length) : "";
    box.replaceChildren();
    if (!preview.objects.length) { box.appendChild(el("div", "empty-state small", S.noObjects)); return; }
    preview.objects.forEach((obj, i) => box.appendChild(objectBlock(obj, i, open)));
  }

  function objectBlock(obj, index, open) {
    const details = el("details", "object-block");
    details.dataset.key = `${obj.kind}/${obj.namespace}/${obj.name}`;
    details.open = open.size ? open.has(details.dataset.key) : index === 0;
    const summary = el("summary");
    summary.appendChild(el("span", "tag tag-kind", obj.kind));
    summary.appendChild(el("span", "mono", `${obj.namespace}/${obj.name}`));
    const tools = el("span", "toolbar");
    tools.appendChild(toolButton(S.copy, (b) => copy(obj.yaml, b)));
    tools.appendChild(toolButton(S.download, () => download(`${obj.kind.toLowerCase()}-${obj.name}.yaml`, obj.yaml)));
    summary.appendChild(tools);
    details.appendChild(summary);
    const pre = el("pre", "code");
    pre.innerHTML = window.YamlEditor.highlight(obj.yaml);
    details.appendChild(pre);
    return details;
  }

  /* All objects as one YAML stream, the same text as the Istio YAML export. */
  function istioYaml() {
    return state.preview.objects.map((obj) => obj.yaml).join("---\n");
  }

  function toolButton(label, handler) {
    const button = el("button", "btn btn-small", label);
    button.type = "button";
    button.addEventListener("click", (event) => { event.preventDefault(); handler(button); });
    return button;
  }

  /* ---------- save, revision, create ---------- */

  function refused(result) {
    form.revealAll();
    if (result.data.findings && result.data.findings.length && state.preview) {
      applyPreview(Object.assign({}, state.preview, { findings: result.data.findings }), "saved");
    }
    if (result.status === 412) {
      banner("error", `${result.data.message} ${S.staleHint}`, [
        [S.downloadMine, () => download(`${policyName()}-mine.yaml`, yamlEditor.getValue())],
        [S.reload, () => { setDirty(false); location.reload(); }],
      ]);
    } else {
      banner("error", result.data.message || format(S.requestFailed, { status: result.status }), [], true);
    }
  }

  async function save() {
    const doc = await currentDocument();
    const result = await postJson(config.urls.save, { document: doc, version: state.version });
    if (!result.ok) { refused(result); return; }
    state.version = result.data.version;
    setDirty(false);
    const tag = $("[data-testid=draft-version]");
    if (tag) tag.textContent = tag.textContent.replace(/\d+/, String(state.version));
    banner("success", result.data.message);
  }

  async function commit(message) {
    const doc = await currentDocument();
    const result = await postJson(config.urls.commit, { document: doc, version: state.version, message: message });
    if (!result.ok) { refused(result); return; }
    setDirty(false);
    location.hash = "#history";
    location.reload();
  }

  async function create() {
    const doc = await currentDocument();
    const result = await postJson(config.urls.create, { document: doc });
    if (!result.ok) { refused(result); return; }
    setDirty(false);
    location.assign(result.data.redirect);
  }

  /* ---------- simulate ---------- */

  function parseLabels(text) {
    const labels = {};
    text.split(/[,\s]+/).filter(Boolean).forEach((pair) => {
      const at = pair.indexOf("=");
      if (at > 0) labels[pair.slice(0, at)] = pair.slice(at + 1);
    });
    return labels;
  }

  /* The mesh the simulator assumes: a cluster's last-checked outbound mode, or the mode chosen by hand. */
  function meshChoice() {
    const cluster = $("[data-role=sim-cluster]");
    return cluster && cluster.value ? { cluster: cluster.value } : { meshMode: $("[data-role=sim-mode]").value };
  }

  function followCluster() {
    const cluster = $("[data-role=sim-cluster]");
    const mode = $("[data-role=sim-mode]");
    const chosen = cluster.selectedOptions[0];
    if (cluster.value && chosen.dataset.mode) mode.value = chosen.dataset.mode;
    mode.disabled = Boolean(cluster.value);
    if (state.matrixShown) loadMatrix();
  }

  async function runSimulation(formEl) {
    const box = $("[data-role=simulate-result]");
    box.replaceChildren(el("h2", "panel-title", formEl.querySelector("button[type=submit]").textContent), el("p", "muted", S.running));
    const fields = new FormData(formEl);
    const body = {
      document: await currentDocument(), namespace: fields.get("namespace"), labels: parseLabels(fields.get("labels") || ""),
      url: fields.get("url"), method: fields.get("method"), ...meshChoice(),
    };
    const result = await postJson(config.urls.simulate, body);
    box.replaceChildren();
    if (!result.ok) { box.appendChild(el("div", "alert alert-error", result.data.message)); return; }
    window.SimulationView.renderResult(box, result.data, S);
  }

  async function loadMatrix() {
    state.matrixShown = true;
    const box = $("[data-role=matrix]");
    box.replaceChildren(el("p", "muted", S.running));
    const result = await postJson(config.urls.reachability, { document: await currentDocument(), ...meshChoice() });
    box.replaceChildren();
    if (!result.ok) { box.appendChild(el("div", "alert alert-error", result.data.message)); return; }
    window.SimulationView.renderMatrix(box, result.data, S);
  }

  /* ---------- language switch ---------- */

  /* Picking another language reloads the page. With unsaved changes the editor asks first, itself:
   * a cancelled beforeunload prompt would leave the select showing a language the page is not in.
   * This listener runs in the capture phase, before the select's own submitting onchange. */
  function guardLanguageSwitch() {
    const select = $("#language-select");
    if (!select) return;
    const current = () => Array.from(select.options).find((o) => o.defaultSelected) || select.options[0];
    document.addEventListener("change", (event) => {
      if (event.target !== select || !state.dirty) return;
      if (window.confirm(S.leave)) { state.leaving = true; return; }
      event.stopImmediatePropagation();
      select.value = current().value;
    }, true);
    // Back/forward may restore the page from its cache, or the browser its form state: show the page's language.
    window.addEventListener("pageshow", () => { state.leaving = false; select.value = current().value; });
  }

  /* ---------- wiring ---------- */

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-action]");
    const menu = $(".dropdown-menu");
    if (menu && !event.target.closest(".dropdown")) menu.hidden = true;
    if (!button) return;
    const action = button.dataset.action;
    if (action === "save") save();
    else if (action === "create") create();
    else if (action === "open-commit") $("[data-role=commit-dialog]").showModal();
    else if (action === "close-dialog") $("[data-role=commit-dialog]").close();
    else if (action === "toggle-menu") menu.hidden = !menu.hidden;
    else if (action === "download-current") download(`${policyName()}.yaml`, yamlEditor.getValue());
    else if (action === "copy-istio" && state.preview) copy(istioYaml(), button);
    else if (action === "download-istio" && state.preview) download(`${policyName()}-istio.yaml`, istioYaml());
    else if (action === "reachability") loadMatrix();
  });

  $$("[role=tab]").forEach((tab) => tab.addEventListener("click", () => activate(tab.dataset.tab)));
  $("[role=tablist]").addEventListener("keydown", (event) => {
    // The WAI-ARIA tabs pattern: arrows move between tabs (wrapping), Home/End jump to the ends.
    const tabs = $$("[role=tab]");
    const at = tabs.indexOf(event.target);
    const step = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: tabs.length - 1 }[event.key];
    if (at < 0 || step === undefined) return;
    event.preventDefault();
    const next = tabs[(step + tabs.length) % tabs.length];
    next.focus();
    activate(next.dataset.tab);
  });
  $("[data-role=commit-form]").addEventListener("submit", (event) => {
    const message = new FormData(event.target).get("message");
    commit(message);
  });
  $("[data-role=simulate-form]").addEventListener("submit", (event) => { event.preventDefault(); runSimulation(event.target); });
  $("[data-role=sim-cluster]").addEventListener("change", followCluster);
  $("[data-role=sim-mode]").addEventListener("change", () => { if (state.matrixShown) loadMatrix(); });
  window.addEventListener("beforeunload", (event) => {
    if (!state.dirty || state.leaving) return;
    event.preventDefault();
    event.returnValue = S.leave;
  });
  guardLanguageSwitch();

  form.load(config.document);
  yamlEditor.setValue(config.preview.yaml);
  applyPreview(config.preview, "form");
  state.pending = { document: config.document };
  document.body.dataset.previewPending = "true";
  flush();
  const initial = location.hash.slice(1);
  if (initial && $(`[data-tab="${initial}"]`)) activate(initial);
  document.body.dataset.editorReady = "true";
})();
