/* The policy form: rules as cards, `from` and `to` rows, built from and read back into CR data.
 *
 * Each card remembers the object it was built from and serialises by overlaying its inputs on a
 * copy of that object, so fields the form does not show (targetPort, per-entry gateway names,
 * metadata labels...) survive a Form → YAML → Form round trip. Every input carries the JSON path
 * the core validator uses (spec.egressRules[0].to[1].port.number), which is how findings land on
 * the exact field.
 */
(function () {
  "use strict";

  const HTTP_FAMILY = ["HTTP", "HTTP2", "GRPC"];

  function clone(value) {
    return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
  }

  function isObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }

  function arrayOfObjects(value) {
    return value === undefined || (Array.isArray(value) && value.every(isObject));
  }

  /* Text typed in a number field: digits become a number, anything else stays text for the validator. */
  function parseValue(raw) {
    const text = raw.trim();
    if (text === "") return undefined;
    return /^\d{1,9}$/.test(text) ? Number(text) : text;
  }

  function shown(value) {
    if (value === undefined || value === null) return "";
    return typeof value === "object" ? JSON.stringify(value) : String(value);
  }

  function setOrDelete(obj, key, value) {
    if (value === undefined) delete obj[key];
    else obj[key] = value;
  }

  function stripPath(path) {
    const cut = Math.max(path.lastIndexOf("."), path.lastIndexOf("["));
    return cut > 0 ? path.slice(0, cut) : "";
  }

  /* Whether the form can show a document without dropping anything it cannot represent. */
  function representable(doc) {
    if (!isObject(doc)) return false;
    if (doc.spec === undefined) return true;
    if (!isObject(doc.spec) || !arrayOfObjects(doc.spec.egressRules)) return false;
    return (doc.spec.egressRules || []).every(function (rule) {
      if (!arrayOfObjects(rule.from) || !arrayOfObjects(rule.to)) return false;
      const sourcesOk = (rule.from || []).every(function (src) {
        const sel = src.workloadSelector;
        return sel === undefined || (isObject(sel) && Object.values(sel).every(function (v) { return typeof v !== "object"; }));
      });
      const targetsOk = (rule.to || []).every(function (to) {
        return (to.hosts === undefined || (Array.isArray(to.hosts) && to.hosts.every(function (h) { return typeof h !== "object"; })))
          && [to.port, to.byEgressGateway, to.httpsUpgrade].every(function (v) { return v === undefined || isObject(v); });
      });
      return sourcesOk && targetsOk;
    });
  }

  class PolicyForm {
    constructor(root, options) {
      this.root = root;
      this.rules = root.querySelector("[data-role=rules]");
      this.noRules = root.querySelector("[data-role=no-rules]");
      this.ports = options.ports;
      this.strings = options.strings;
      this.onChange = options.onChange;
      this.base = {};
      root.addEventListener("input", (event) => this.handleInput(event));
      root.addEventListener("change", (event) => this.handleInput(event));
      root.addEventListener("click", (event) => this.handleClick(event));
      root.addEventListener("keydown", (event) => this.handleKey(event));
      root.addEventListener("focusout", (event) => this.handleBlur(event));
      root.addEventListener("paste", (event) => this.handlePaste(event));
    }

    /* ---------- building ---------- */

    load(doc) {
      this.base = clone(doc) || {};
      this.rules.replaceChildren();
      const rules = (this.base.spec && this.base.spec.egressRules) || [];
      rules.forEach((rule) => this.rules.appendChild(this.ruleCard(rule)));
      this.reindex();
    }

    clone(id) {
      return document.getElementById(id).content.firstElementChild.cloneNode(true);
    }

    ruleCard(rule) {
      const card = this.clone("tpl-rule");
      card._orig = rule;
      card.querySelector("[data-field=name]").value = shown(rule.name);
      (rule.from || []).forEach((src) => card.querySelector("[data-list=from]").appendChild(this.fromRow(src)));
      (rule.to || []).forEach((to) => card.querySelector("[data-list=to]").appendChild(this.toRow(to)));
      return card;
    }

    fromRow(src) {
      const row = this.clone("tpl-from");
      row._orig = src;
      row.querySelector("[data-field=namespace]").value = shown(src.namespace);
      Object.entries(src.workloadSelector || {}).forEach(([key, value]) => {
        row.querySelector("[data-list=labels]").appendChild(this.labelRow(key, value));
      });
      return row;
    }

    labelRow(key, value) {
      const row = this.clone("tpl-label");
      row.querySelector("[data-role=label-key]").value = key;
      row.querySelector("[data-role=label-value]").value = shown(value);
      return row;
    }

    toRow(to) {
      const row = this.clone("tpl-to");
      row._orig = to;
      const port = to.port || {};
      const field = (name) => row.querySelector(`[data-field="${name}"]`);
      field("name").value = shown(to.name);
      (to.hosts || []).forEach((host) => this.addHost(row, shown(host)));
      field("port.name").value = shown(port.name);
      field("port.number").value = shown(port.number);
      this.fillSelect(field("port.protocol"), shown(port.protocol));
      this.fillGatewayPorts(field("byEgressGateway.port"), (to.byEgressGateway || {}).port);
      const upgrade = to.httpsUpgrade || {};
      field("httpsUpgrade.enabled").checked = upgrade.enabled === true;
      field("httpsUpgrade.port").value = shown(upgrade.port);
      this.syncUpgrade(row);
      return row;
    }

    fillSelect(select, value) {
      if (value && !Array.from(select.options).some((o) => o.value === value)) {
        select.appendChild(new Option(value, value));
      }
      select.value = value;
    }

    fillGatewayPorts(select, value) {
      select.appendChild(new Option(this.strings.samePort, ""));
      this.ports.forEach((p) => select.appendChild(new Option(`${p.number} · ${p.protocol} (${p.name})`, String(p.number))));
      const current = value === undefined || value === null || value === 0 ? "" : String(value);
      if (current && !this.ports.some((p) => String(p.number) === current)) {
        select.appendChild(new Option(this.strings.notGatewayPort.replace("{port}", current), current));
      }
      select.value = current;
    }

    addHost(row, text) {
      const tag = this.clone("tpl-host");
      tag.querySelector("[data-role=host-text]").textContent = text;
      tag.dataset.value = text;
      row.querySelector("[data-list=hosts]").appendChild(tag);
    }

    syncUpgrade(row) {
      const on = row.querySelector('[data-field="httpsUpgrade.enabled"]').checked;
      row.querySelector(".upgrade-row").classList.toggle("is-on", on);
    }

    newRule() {
      return { from: [{ namespace: "" }], to: [this.newTarget()] };
    }

    newTarget() {
      const http = this.ports.find((p) => HTTP_FAMILY.includes(p.protocol));
      const target = { name: "", hosts: [], port: { name: "http", number: 80, protocol: "HTTP" }, byEgressGateway: {} };
      if (http) target.byEgressGateway.port = http.number;
      return target;
    }

    /* ---------- reading back ---------- */

    serialize() {
      const doc = clone(this.base) || {};
      doc.spec = isObject(doc.spec) ? doc.spec : {};
      doc.spec.egressRules = this.cards(this.rules, "rule").map((card) => this.readRule(card));
      return doc;
    }

    cards(parent, kind) {
      return Array.from(parent.children).filter((el) => el.dataset.kind === kind);
    }

    readRule(card) {
      const rule = clone(card._orig) || {};
      setOrDelete(rule, "name", parseText(card.querySelector("[data-field=name]")));
      rule.from = this.cards(card.querySelector("[data-list=from]"), "from").map((row) => this.readFrom(row));
      rule.to = this.cards(card.querySelector("[data-list=to]"), "to").map((row) => this.readTo(row));
      return rule;
    }

    readFrom(row) {
      const src = clone(row._orig) || {};
      setOrDelete(src, "namespace", parseText(row.querySelector("[data-field=namespace]")));
      const labels = {};
      let any = false;
      this.cards(row.querySelector("[data-list=labels]"), "label").forEach((label) => {
        const key = label.querySelector("[data-role=label-key]").value.trim();
        const value = label.querySelector("[data-role=label-value]").value.trim();
        if (key || value) { labels[key] = value; any = true; }
      });
      const hadEmpty = isObject(src.workloadSelector) && Object.keys(src.workloadSelector).length === 0;
      setOrDelete(src, "workloadSelector", any || hadEmpty ? labels : undefined);
      return src;
    }

    readTo(row) {
      const to = clone(row._orig) || {};
      const field = (name) => row.querySelector(`[data-field="${name}"]`);
      setOrDelete(to, "name", parseText(field("name")));
      to.hosts = this.hosts(row);
      const port = isObject(to.port) ? to.port : {};
      setOrDelete(port, "name", parseText(field("port.name")));
      setOrDelete(port, "number", parseValue(field("port.number").value));
      setOrDelete(port, "protocol", field("port.protocol").value || undefined);
      to.port = port;
      const gateway = isObject(to.byEgressGateway) ? to.byEgressGateway : {};
      setOrDelete(gateway, "port", parseValue(field("byEgressGateway.port").value));
      to.byEgressGateway = gateway;
      setOrDelete(to, "httpsUpgrade", this.readUpgrade(row, to.httpsUpgrade));
      return to;
    }

    hosts(row) {
      const hosts = Array.from(row.querySelectorAll("[data-kind=host]")).map((tag) => tag.dataset.value);
      const pending = row.querySelector("[data-role=host-input]").value.trim();
      return pending ? hosts.concat(splitHosts(pending)) : hosts;
    }

    readUpgrade(row, orig) {
      const enabled = row.querySelector('[data-field="httpsUpgrade.enabled"]').checked;
      const port = parseValue(row.querySelector('[data-field="httpsUpgrade.port"]').value);
      if (!enabled && !isObject(orig)) return undefined;
      const upgrade = isObject(orig) ? orig : {};
      // NB: an upgrade block that never said `enabled` keeps not saying it while the switch is off.
      if (enabled || upgrade.enabled !== undefined) upgrade.enabled = enabled;
      setOrDelete(upgrade, "port", port);
      return upgrade;
    }

    /* ---------- paths, findings, hop lines ---------- */

    reindex() {
      const rules = this.cards(this.rules, "rule");
      this.noRules.hidden = rules.length > 0;
      rules.forEach((card, r) => {
        const base = `spec.egressRules[${r}]`;
        card.dataset.path = base;
        card.querySelector("[data-role=index]").textContent = String(r + 1);
        this.pathFields(card, base, "rule");
        this.indexList(card, "from", base, (row, path) => this.indexFrom(row, path));
        this.indexList(card, "to", base, (row, path) => this.indexTo(row, path));
      });
      this.syncMoves(rules);
    }

    /* The first item of a list cannot move up nor the last down: those buttons are disabled. */
    syncMoves(items) {
      items.forEach((item, i) => {
        item.querySelectorAll("[data-action=move-up], [data-action=move-down]").forEach((button) => {
          if (button.closest("[data-kind]") !== item) return;
          button.disabled = button.dataset.action === "move-up" ? i === 0 : i === items.length - 1;
        });
      });
    }

    indexList(card, kind, base, each) {
      const list = card.querySelector(`[data-list=${kind}]`);
      list.dataset.path = `${base}.${kind}`;
      const rows = this.cards(list, kind);
      rows.forEach((row, i) => { row.dataset.path = `${base}.${kind}[${i}]`; each(row, row.dataset.path); });
      this.syncMoves(rows);
    }

    indexFrom(row, path) {
      this.pathFields(row, path, "from");
      this.cards(row.querySelector("[data-list=labels]"), "label").forEach((label) => {
        label.dataset.path = `${path}.workloadSelector.${label.querySelector("[data-role=label-key]").value.trim()}`;
      });
    }

    indexTo(row, path) {
      this.pathFields(row, path, "to");
      row.querySelectorAll("[data-kind=host]").forEach((tag, i) => { tag.dataset.path = `${path}.hosts[${i}]`; });
    }

    /* Give every field of this card (not of nested cards) its full JSON path. */
    pathFields(card, base, kind) {
      card.querySelectorAll("[data-field]").forEach((el) => {
        if (el.closest("[data-kind]") === card) el.dataset.path = `${base}.${el.dataset.field}`;
      });
      // Groups of fields that findings may name as a whole (e.g. httpsUpgrade, V20a).
      card.querySelectorAll("[data-path-of]").forEach((el) => {
        if (el.closest("[data-kind]") === card) el.dataset.path = `${base}.${el.dataset.pathOf}`;
      });
      card.dataset.kindPath = kind;
    }

    /* A save or a revision shows every finding, touched or not. */
    revealAll() {
      this.root.querySelectorAll("[data-untouched]").forEach(touch);
    }

    clearFindings() {
      this.root.querySelectorAll(".field-msgs").forEach((slot) => slot.replaceChildren());
      this.root.querySelectorAll(".is-error, .is-warning").forEach((el) => el.classList.remove("is-error", "is-warning"));
    }

    /* Findings at their fields; those of fields in a just-added item wait until the field is touched or saved. */
    showFindings(findings) {
      this.findings = findings;
      this.clearFindings();
      findings.forEach((finding) => {
        const target = this.target(finding.path);
        if (!target || isUntouched(target)) return;
        // NB: infos are notes, not problems: they get a message but leave the field unmarked.
        if (finding.severity !== "info") target.classList.add(finding.severity === "error" ? "is-error" : "is-warning");
        const slot = this.slotFor(target);
        if (!slot) return;
        const msg = document.createElement("div");
        msg.className = `field-msg ${finding.severity}`;
        msg.dataset.code = finding.code;
        msg.textContent = finding.message;
        slot.appendChild(msg);
      });
    }

    target(path) {
      for (let p = path; p; p = stripPath(p)) {
        const found = this.root.querySelector(`[data-path="${CSS.escape(p)}"]`);
        if (found) return found;
      }
      return null;
    }

    /* Where a finding about `el` is written: under its field, else in its card, else under the rules. */
    slotFor(el) {
      if (el.dataset.kind === "host") return el.closest(".field").querySelector("[data-msgs-field]");
      if (el.dataset.pathOf) return el.querySelector(":scope > [data-msgs-field]");
      if (el.dataset.kind) return el.querySelector(":scope > [data-msgs]");
      const field = el.dataset.list || el.dataset.field === "workloadSelector" ? null : el.closest(".field");
      const slot = field && field.querySelector("[data-msgs-field]");
      if (slot) return slot;
      const card = el.closest("[data-kind]");
      return card ? card.querySelector(":scope > [data-msgs]") : this.root.querySelector("[data-msgs-for]");
    }

    showHops(hops) {
      this.root.querySelectorAll("[data-kind=to]").forEach((row) => {
        const box = row.querySelector("[data-role=hops]");
        const hop = hops[row.dataset.path];
        box.replaceChildren();
        if (!hop) { box.textContent = this.strings.hopsUnknown; box.classList.add("muted"); return; }
        box.classList.remove("muted");
        hop.steps.forEach(([label, port], i) => {
          if (i > 0) box.appendChild(span("hop-arrow", " → "));
          const step = span("hop-step", label);
          if (port) step.appendChild(span("hop-port", ` :${port}`));
          box.appendChild(step);
        });
        box.appendChild(span("hop-transport", ` (${hop.transport})`));
      });
    }

    /* ---------- events ---------- */

    changed() {
      this.reindex();
      this.onChange();
    }

    handleInput(event) {
      const el = event.target;
      // NB: text inputs report on "input", selects and switches on "change"; each edit counts once.
      const isText = el.tagName === "INPUT" && el.type !== "checkbox";
      if ((event.type === "input") !== isText) return;
      touch(el);
      const row = el.closest("[data-kind=to]");
      if (row && el.dataset.field === "httpsUpgrade.enabled") this.onUpgradeToggle(row, el);
      this.changed();
    }

    onUpgradeToggle(row, box) {
      const port = row.querySelector('[data-field="httpsUpgrade.port"]');
      if (box.checked && !port.value) port.value = "443";
      this.syncUpgrade(row);
    }

    handleClick(event) {
      const button = event.target.closest("[data-action]");
      if (!button || !this.root.contains(button)) return;
      const action = button.dataset.action;
      const item = button.closest("[data-kind]");
      if (action === "add-rule") this.rules.appendChild(untouched(this.ruleCard(this.newRule())));
      else if (action === "add-from") item.querySelector("[data-list=from]").appendChild(untouched(this.fromRow({ namespace: "" })));
      else if (action === "add-to") item.querySelector("[data-list=to]").appendChild(untouched(this.toRow(this.newTarget())));
      else if (action === "add-label") this.addLabel(item);
      else if (action === "remove") item.remove();
      else if (action === "move-up" && item.previousElementSibling) item.parentNode.insertBefore(item, item.previousElementSibling);
      else if (action === "move-down" && item.nextElementSibling) item.parentNode.insertBefore(item.nextElementSibling, item);
      else return;
      this.changed();
      // A row moved to the end loses its button there; keep keyboard focus on the row's other one.
      const other = button.disabled && button.parentNode.querySelector("[data-action^=move-]:not(:disabled)");
      if (other) other.focus();
    }

    addLabel(row) {
      const label = this.labelRow("", "");
      row.querySelector("[data-list=labels]").appendChild(label);
      label.querySelector("input").focus();
    }

    handleKey(event) {
      const input = event.target;
      if (input.dataset.role !== "host-input") return;
      if (event.key === "Enter" || event.key === ",") {
        event.preventDefault();
        this.commitHosts(input);
      } else if (event.key === "Backspace" && !input.value) {
        const tags = input.closest(".tag-input").querySelectorAll("[data-kind=host]");
        if (tags.length) { tags[tags.length - 1].remove(); this.changed(); }
      }
    }

    handleBlur(event) {
      const input = event.target;
      if (input.dataset.role === "host-input" && input.value.trim()) this.commitHosts(input);
      // NB: leaving a field counts as touching it, so a field left empty says so from then on.
      if (input.dataset.untouched !== undefined) { touch(input); if (this.findings) this.showFindings(this.findings); }
    }

    /* A pasted list of hosts (one per line, or separated by spaces or commas) becomes one tag per host. */
    handlePaste(event) {
      const input = event.target;
      if (input.dataset.role !== "host-input") return;
      const text = event.clipboardData ? event.clipboardData.getData("text") : "";
      if (!/[\s,]/.test(text.trim())) return;
      event.preventDefault();
      this.commitHosts(input, `${input.value},${text.split(/\s+/).join(",")}`);
    }

    commitHosts(input, text) {
      // Typed hosts are DNS names: lower case, no trailing dot, each once per destination (a repeat
      // would only earn a validation error). Hosts loaded from YAML are shown exactly as written.
      const row = input.closest("[data-kind=to]");
      touch(input);
      const listed = new Set(Array.from(row.querySelectorAll("[data-kind=host]"), (tag) => tag.dataset.value));
      splitHosts(text === undefined ? input.value : text).map(normalHost).filter(Boolean).forEach((host) => {
        if (!listed.has(host)) { listed.add(host); this.addHost(row, host); }
      });
      input.value = "";
      this.changed();
    }
  }

  /* Typed hosts are separated by commas (or Enter), never by spaces: `bad host` stays one (invalid) host
   * for the validator to explain, instead of silently becoming two. Pasted lists are split on spaces too. */
  function splitHosts(text) {
    return text.split(/[,\n]+/).map((host) => host.trim()).filter(Boolean);
  }

  function normalHost(text) {
    return text.trim().toLowerCase().replace(/\.+$/, "");
  }

  function parseText(input) {
    const text = input.value.trim();
    return text === "" ? undefined : text;
  }

  /* Mark every field of a just-added item as not yet touched. */
  function untouched(item) {
    item.querySelectorAll("[data-field], [data-role=host-input]").forEach((el) => { el.dataset.untouched = ""; });
    return item;
  }

  /* The field `el` belongs to (the hosts box for its input) is touched. */
  function touch(el) {
    delete el.dataset.untouched;
    const hosts = el.dataset.role === "host-input" && el.closest("[data-field=hosts]");
    if (hosts) delete hosts.dataset.untouched;
  }

  function isUntouched(target) {
    return target.dataset.untouched !== undefined;
  }

  function span(cls, text) {
    const el = document.createElement("span");
    el.className = cls;
    el.textContent = text;
    return el;
  }

  window.PolicyForm = PolicyForm;
  window.PolicyForm.representable = representable;
})();
