// Revision page: the stored custom resource, highlighted as YAML.
(function () {
  const pre = document.querySelector("[data-role=revision-yaml]");
  pre.innerHTML = window.YamlEditor.highlight(pre.textContent);
})();
