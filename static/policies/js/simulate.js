/* Simulate tab rendering: one request's outcome, and the reachability matrix. */
(function () {
  "use strict";

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function succeeded(status) {
    return typeof status === "number" && status >= 200 && status < 400;
  }

  function statusText(status, strings) {
    return status === "reset" ? strings.reset : String(status);
  }

  /* {status, upstream, body, hops, reason} → status line, details and the numbered hop path. */
  function renderResult(box, result, strings) {
    const head = el("div", "sim-status");
    head.appendChild(el("span", `sim-code ${succeeded(result.status) ? "ok" : "bad"}`, statusText(result.status, strings)));
    head.appendChild(el("span", "", result.reason));
    head.dataset.status = String(result.status);
    box.appendChild(head);
    const props = el("dl", "props");
    [[strings.upstream, result.upstream], [strings.body, result.body]].forEach(([label, value]) => {
      if (!value) return;
      props.appendChild(el("dt", "", label));
      const dd = el("dd", "mono", value);
      if (label === strings.upstream) dd.dataset.testid = "upstream";
      props.appendChild(dd);
    });
    box.appendChild(props);
    const hops = el("ol", "sim-hops");
    (result.hops || []).forEach((hop) => hops.appendChild(el("li", "", hop)));
    box.appendChild(hops);
  }

  /* {sources: [label], urls: [url], cells: [[{status, reason}]]} → a table with one row per source. */
  function renderMatrix(box, matrix, strings) {
    if (!matrix.sources.length || !matrix.urls.length) { box.appendChild(el("div", "empty-state small", strings.noSources)); return; }
    const table = el("table", "table matrix");
    const headRow = el("tr");
    headRow.appendChild(el("th", "", strings.source));
    matrix.urls.forEach((url) => headRow.appendChild(el("th", "url", url)));
    table.appendChild(el("thead")).appendChild(headRow);
    const body = table.appendChild(el("tbody"));
    matrix.sources.forEach((source, i) => {
      const row = body.appendChild(el("tr"));
      row.appendChild(el("th", "mono", source));
      matrix.cells[i].forEach((cell) => {
        const td = el("td", `cell ${succeeded(cell.status) ? "ok" : "bad"}`, statusText(cell.status, strings));
        td.title = cell.reason || "";
        row.appendChild(td);
      });
    });
    box.appendChild(table);
  }

  window.SimulationView = { renderResult: renderResult, renderMatrix: renderMatrix };
})();
