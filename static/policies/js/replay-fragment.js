// The review page's replay of observed traffic: fetched after the page, shown only when the gateway has observations.
(function () {
  "use strict";
  var holder = document.querySelector('[data-role="replay-fragment"]');
  if (!holder) { return; }
  fetch(holder.dataset.url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
    .then(function (response) {
      if (response.status === 204) { return null; }
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.text();
    })
    .then(function (html) {
      if (html === null) { return; }
      holder.innerHTML = html;  // NB: the console's own server-rendered, auto-escaped fragment
      holder.hidden = false;
    })
    .catch(function () {
      holder.textContent = holder.dataset.failed;
      holder.className = "alert alert-warning";
      holder.hidden = false;
    });
}());
