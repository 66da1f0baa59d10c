// Review page: the diff tabs, and the plan panel, loaded from its own URL so a slow cluster never holds the page.
(function () {
  "use strict";

  function selectTab(tabs, chosen) {
    tabs.forEach(function (tab) {
      const active = tab === chosen;
      tab.classList.toggle("active", active);
      tab.setAttribute("aria-selected", active ? "true" : "false");
      tab.tabIndex = active ? 0 : -1;
      document.querySelector("[data-panel=" + tab.dataset.tab + "]").hidden = !active;
    });
  }

  document.querySelectorAll("[role=tablist]").forEach(function (list) {
    const tabs = Array.prototype.slice.call(list.querySelectorAll("[role=tab]"));
    tabs.forEach(function (tab) {
      tab.addEventListener("click", function () { selectTab(tabs, tab); });
    });
  });

  const plan = document.querySelector("[data-role=plan]");
  if (!plan) return;
  const csrf = (document.cookie.match(/(?:^|; )csrftoken=([^;]*)/) || [])[1] || "";

  function loadPlan(method) {
    plan.setAttribute("aria-busy", "true");
    const options = { method: method, credentials: "same-origin", headers: { "X-CSRFToken": decodeURIComponent(csrf) } };
    fetch(plan.dataset.url, options)
      .then(function (response) {
        if (!response.ok) throw new Error(response.status + " " + response.statusText);
        return response.text();
      })
      .then(function (html) { plan.innerHTML = html; })
      .catch(function (error) {
        plan.textContent = "";
        const alert = document.createElement("div");
        alert.className = "alert alert-error";
        alert.setAttribute("data-testid", "plan-error");
        alert.textContent = plan.dataset.failed || String(error);
        plan.appendChild(alert);
      })
      .finally(function () { plan.removeAttribute("aria-busy"); });
  }

  loadPlan("GET");
  const refresh = document.querySelector("[data-action=refresh-plan]");
  if (refresh) refresh.addEventListener("click", function () { loadPlan("POST"); });
})();
