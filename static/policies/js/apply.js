// Apply panel and job page: start a job without leaving the page, then redraw its per-cluster,
// per-object progress from /jobs/<id>/progress/ every second until it is done. Everything is built
// with textContent (job data never becomes markup); without JavaScript the form posts and redirects
// to the job page, which shows the same tables.
(function () {
  "use strict";
  const POLL_MS = 1000;
  const OUTCOMES = ["created", "configured", "unchanged", "pruned", "failed", "skipped", "pending"];
  const progressBox = document.querySelector("[data-role=job-progress]");
  const form = document.querySelector("form[data-role=apply-form]");
  const errorList = document.querySelector("[data-role=apply-errors]");
  const recentJobs = document.querySelector("[data-role=recent-jobs]");
  if (!progressBox) return;
  const existing = progressBox.querySelector("[data-testid=job-progress]");
  // NB: the column titles come from the page, so they stay in its language.
  const titles = {
    summary: progressBox.getAttribute("data-summary-titles").split("|"),
    objects: progressBox.getAttribute("data-object-titles").split("|"),
  };
  const jobTitle = progressBox.getAttribute("data-job-title") || "#{id}";
  const [dryRunLabel, applyLabel] = (progressBox.getAttribute("data-kind-labels") || "dry run|apply").split("|");

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([name, value]) => node.setAttribute(name, value));
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function row(cells, attrs) {
    const tr = el("tr", attrs);
    cells.forEach((cell) => tr.appendChild(el("td", {}, cell)));
    return tr;
  }

  function table(titles, rows, className) {
    const t = el("table", { class: "table " + (className || "") });
    const head = el("tr");
    titles.forEach((title) => head.appendChild(el("th", {}, title)));
    t.appendChild(el("thead")).appendChild(head);
    const body = t.appendChild(el("tbody"));
    rows.forEach((r) => body.appendChild(r));
    return t;
  }

  function stateClass(state) {
    return state === "succeeded" ? "tag-success" : state === "failed" ? "tag-error" : "tag-info";
  }

  // The job's name, a link to its page when there is one (the panel; the job page does not link to itself).
  function jobName(id, page, attrs) {
    const name = jobTitle.replace("{id}", id);
    return page ? el("a", Object.assign({ href: page }, attrs), name) : document.createTextNode(name);
  }

  function kindAndTarget(progress) {
    return (progress.dryRun ? dryRunLabel : applyLabel) + " · " + progress.target;
  }

  function render(progress, page) {
    const root = el("div", { class: "job-progress", "data-testid": "job-progress", "data-job": progress.id,
      "data-state": progress.state, "data-done": String(progress.done) });
    const title = root.appendChild(el("p"));
    title.appendChild(el("strong")).appendChild(jobName(progress.id, page, { "data-testid": "job-link" }));
    title.appendChild(document.createTextNode(" "));
    title.appendChild(el("span", { class: "tag " + stateClass(progress.state), "data-testid": "job-state" }, progress.stateLabel));
    title.appendChild(document.createTextNode(" " + kindAndTarget(progress)));
    if (progress.waitingNote) {
      root.appendChild(el("p", { class: "alert alert-warning", "data-testid": "job-waiting" }, progress.waitingNote));
    }
    const summary = progress.clusters.map((c) =>
      row([c.cluster, c.stateLabel].concat(OUTCOMES.map((o) => c.counts[o])), { "data-cluster": c.cluster, "data-state": c.state }));
    root.appendChild(table(titles.summary, summary, "job-summary")).setAttribute("data-testid", "job-summary");
    progress.clusters.forEach((c) => root.appendChild(clusterSection(c, titles.objects)));
    return root;
  }

  function clusterSection(cluster, titles) {
    const section = el("section", { class: "job-cluster", "data-testid": "job-cluster", "data-cluster": cluster.cluster, "data-state": cluster.state });
    section.appendChild(el("h3", { class: "section-title" }, cluster.cluster + " · " + cluster.stateLabel));
    if (cluster.errorCode) {
      const alert = section.appendChild(el("p", { class: "alert alert-error", "data-testid": "job-cluster-error" }));
      alert.appendChild(el("span", { class: "mono" }, cluster.errorCode));
      alert.appendChild(document.createTextNode(" " + cluster.errorMessage));
    }
    if (cluster.objects.length) {
      const rows = cluster.objects.map((o) => row([o.kind, o.namespace, o.name, o.outcomeLabel,
        o.errorCode ? o.errorCode + " " + o.message : o.changes.join(", ")], { "data-outcome": o.outcome }));
      section.appendChild(table(titles, rows));
    }
    return section;
  }

  // The job's line in Recent jobs: added on top when the panel started it, its state kept current.
  function listRecent(progress, page) {
    if (!recentJobs || !page) return;
    const list = recentJobs.querySelector("[data-testid=apply-jobs]");
    const item = el("li", { "data-job": progress.id });
    item.appendChild(jobName(progress.id, page));
    item.appendChild(document.createTextNode(" "));
    item.appendChild(el("span", { class: "tag " + stateClass(progress.state), "data-testid": "recent-job-state" }, progress.stateLabel));
    item.appendChild(document.createTextNode(" " + kindAndTarget(progress) + " · " + progress.clusters.map((c) => c.cluster).join(", ") + " "));
    item.appendChild(el("span", { class: "muted small" }, (progress.user || "—") + " · " + progress.created));
    const known = list.querySelector("li[data-job='" + progress.id + "']");
    if (known) known.replaceWith(item);
    else list.prepend(item);
    recentJobs.hidden = false;
  }

  function follow(url, page) {
    progressBox.setAttribute("data-progress-url", url);
    if (page) progressBox.setAttribute("data-job-page", page);
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
      .then((progress) => {
        progressBox.replaceChildren(render(progress, page));
        listRecent(progress, page);
        if (!progress.done) window.setTimeout(() => follow(url, page), POLL_MS);
      })
      .catch(() => window.setTimeout(() => follow(url, page), POLL_MS * 5));
  }

  function showErrors(errors) {
    if (!errorList) return;
    errorList.replaceChildren(...errors.map((e) => el("li", { "data-code": e.code }, e.message)));
  }

  if (form) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const token = form.querySelector("[name=csrfmiddlewaretoken]").value;
      showErrors([]);
      fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": token } })
        .then((response) => response.json().then((body) => ({ ok: response.ok, body })))
        .then(({ ok, body }) => (ok ? follow(body.progress, body.page) : showErrors(body.errors || [])))
        .catch(() => showErrors([{ code: "network", message: progressBox.getAttribute("data-network-error") }]));
    });
  }

  const url = progressBox.getAttribute("data-progress-url");
  if (url && existing && existing.getAttribute("data-done") !== "true") follow(url, progressBox.getAttribute("data-job-page"));
})();
