// Import page: the pasted YAML in the editor, with the refused import's findings pinned to their lines.
(function () {
  const editor = new window.YamlEditor(document.querySelector("[data-role=import-text]"));
  editor.setMarkers(JSON.parse(document.getElementById("import-findings").textContent));
})();
