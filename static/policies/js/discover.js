// The Discover page: gateway switch, flow selection, the upload size warning, confirm before delete.
(function () {
  "use strict";

  function each(selector, root, fn) {
    Array.prototype.forEach.call((root || document).querySelectorAll(selector), fn);
  }

  // NB: switching the gateway reloads the page for it; the noscript button covers pages without script.
  each('[data-role="autosubmit"]', document, function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  var table = document.querySelector('[data-testid="flow-table"]');
  var propose = document.querySelector('[data-role="needs-selection"]');

  function flowBoxes(root) {
    return (root || table).querySelectorAll('input[name="flow"]');
  }

  function refresh() {
    if (!table) { return; }
    var checked = 0;
    each('input[name="flow"]', table, function (box) { if (box.checked) { checked += 1; } });
    if (propose) { propose.disabled = checked === 0; }
    each("tbody", table, function (group) {
      var boxes = flowBoxes(group), on = 0;
      Array.prototype.forEach.call(boxes, function (box) { if (box.checked) { on += 1; } });
      var head = group.querySelector('[data-role="check-group"]');
      if (head) { head.checked = on > 0 && on === boxes.length; head.indeterminate = on > 0 && on < boxes.length; }
    });
    var all = table.querySelector('[data-role="check-all"]');
    if (all) { all.checked = checked > 0 && checked === flowBoxes().length; }
  }

  if (table) {
    table.addEventListener("change", function (event) {
      var target = event.target;
      if (target.dataset.role === "check-all") {
        Array.prototype.forEach.call(flowBoxes(), function (box) { box.checked = target.checked; });
      } else if (target.dataset.role === "check-group") {
        Array.prototype.forEach.call(flowBoxes(target.closest("tbody")), function (box) { box.checked = target.checked; });
      }
      refresh();
    });
    refresh();
  }

  // A warning before sending files the server will refuse (the server checks again: this only saves the wait).
  var upload = document.querySelector('[data-testid="upload-form"]');
  if (upload) {
    var limit = parseInt(upload.dataset.maxBytes, 10);
    var warning = upload.querySelector('[data-role="size-warning"]');
    upload.addEventListener("change", function () {
      var total = 0;
      each('input[type="file"]', upload, function (input) {
        Array.prototype.forEach.call(input.files || [], function (file) { total += file.size; });
      });
      if (warning) { warning.hidden = !(total > limit); }
    });
  }

  each('form[data-role="confirm"]', document, function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
    });
  });
}());
