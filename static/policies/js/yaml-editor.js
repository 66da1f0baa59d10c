/* A small YAML editor: a plain <textarea> over a highlighted copy of its text, with line numbers.
 *
 * The textarea stays the real input (native undo, selection, IME, form posting); the <pre> under
 * it repeats the text with colours and with error and warning lines marked, and the gutter
 * numbers the lines. Both layers use the same font metrics and grow with the text, so the outer
 * box scrolls them together without any scroll syncing.
 */
(function () {
  "use strict";

  const KEY_LINE = /^(\s*)(- +)?((?:"[^"]*"|'[^']*'|[^\s#'"][^#]*?)):(?=\s|$)(.*)$/;
  const ITEM_LINE = /^(\s*)(- +)(.*)$/;

  function escapeHtml(text) {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function wrap(cls, text) {
    return text ? `<span class="${cls}">${escapeHtml(text)}</span>` : "";
  }

  function scalar(text) {
    const match = /^(\s*)(.*?)(\s+#.*)?$/.exec(text);
    const value = match[2];
    let cls = "y-str";
    if (/^-?\d+(\.\d+)?$/.test(value)) cls = "y-num";
    else if (/^(true|false|null|~)$/i.test(value)) cls = "y-bool";
    else if (/^[[{]/.test(value)) cls = "y-flow";
    return escapeHtml(match[1]) + wrap(cls, value) + wrap("y-comment", match[3] || "");
  }

  const RANK = { info: 1, warning: 2, error: 3 };

  /* The more severe of two line marks. */
  function stronger(current, severity) {
    return current && RANK[current] >= RANK[severity] ? current : severity;
  }

  /* One line of YAML as highlighted HTML. */
  function highlightLine(line) {
    if (/^\s*#/.test(line)) return wrap("y-comment", line);
    if (/^(---|\.\.\.)\s*$/.test(line)) return wrap("y-doc", line);
    let match = KEY_LINE.exec(line);
    if (match) {
      return escapeHtml(match[1]) + wrap("y-dash", match[2] || "") + wrap("y-key", match[3]) +
        '<span class="y-punct">:</span>' + scalar(match[4]);
    }
    match = ITEM_LINE.exec(line);
    if (match) return escapeHtml(match[1]) + wrap("y-dash", match[2]) + scalar(match[3]);
    return scalar(line);
  }

  /* Text as highlighted HTML, one block per line, marked lines carrying their severity. */
  function highlight(text, marks) {
    return text.split("\n").map(function (line, i) {
      const mark = marks && marks[i + 1];
      const cls = mark ? ` ln-${mark}` : "";
      return `<span class="ln${cls}">${highlightLine(line) || " "}</span>`;
    }).join("");
  }

  class YamlEditor {
    /* Wrap an existing textarea (a form field keeps working) or create one in `container`. */
    constructor(container, options) {
      options = options || {};
      const textarea = container.tagName === "TEXTAREA" ? container : document.createElement("textarea");
      this.root = document.createElement("div");
      this.root.className = "code-editor-box";
      if (textarea.parentNode) textarea.parentNode.insertBefore(this.root, textarea);
      else container.appendChild(this.root);
      this.root.innerHTML = '<div class="ce-inner"><div class="ce-gutter" aria-hidden="true"></div>' +
        '<div class="ce-code"><pre class="ce-highlight" aria-hidden="true"></pre></div></div>';
      this.gutter = this.root.querySelector(".ce-gutter");
      this.highlightBox = this.root.querySelector(".ce-highlight");
      this.textarea = textarea;
      textarea.classList.add("ce-input");
      textarea.setAttribute("spellcheck", "false");
      textarea.setAttribute("wrap", "off");
      textarea.setAttribute("autocapitalize", "off");
      this.root.querySelector(".ce-code").appendChild(textarea);
      this.marks = {};
      this.messages = {};
      textarea.addEventListener("input", () => { this.render(); if (options.onInput) options.onInput(this.getValue()); });
      textarea.addEventListener("keydown", (event) => this.handleKey(event));
      if (options.readOnly) textarea.readOnly = true;
      this.render();
    }

    getValue() {
      return this.textarea.value;
    }

    setValue(text) {
      if (text === this.textarea.value) return;
      this.textarea.value = text;
      this.render();
    }

    /* Pin findings to lines: [{line, severity, message}]; the most severe finding marks a line. */
    setMarkers(findings) {
      this.marks = {};
      this.messages = {};
      findings.forEach((f) => {
        if (!f.line) return;
        this.marks[f.line] = stronger(this.marks[f.line], f.severity);
        (this.messages[f.line] = this.messages[f.line] || []).push(f.message);
      });
      this.render();
    }

    render() {
      const text = this.textarea.value;
      const count = text.split("\n").length;
      this.highlightBox.innerHTML = highlight(text, this.marks) + "\n";
      const numbers = [];
      for (let i = 1; i <= count; i += 1) {
        const mark = this.marks[i];
        const title = this.messages[i] ? ` title="${escapeHtml(this.messages[i].join("\n")).replace(/"/g, "&quot;")}"` : "";
        numbers.push(`<div class="gl${mark ? " gl-" + mark : ""}" data-line="${i}"${title}>${i}</div>`);
      }
      this.gutter.innerHTML = numbers.join("");
    }

    /* Put the caret at the start of a line and bring it into view. */
    focusLine(line) {
      const lines = this.textarea.value.split("\n");
      const offset = lines.slice(0, line - 1).reduce((sum, l) => sum + l.length + 1, 0);
      this.textarea.focus();
      this.textarea.setSelectionRange(offset, offset);
      const gutterLine = this.gutter.querySelector(`[data-line="${line}"]`);
      if (gutterLine) gutterLine.scrollIntoView({ block: "center" });
    }

    handleKey(event) {
      if (event.key === "Escape") { this.textarea.blur(); return; }
      if (event.key !== "Tab" || event.shiftKey || this.textarea.readOnly) return;
      // NB: YAML forbids tab indentation, so Tab inserts two spaces; Escape then Tab leaves the editor.
      event.preventDefault();
      document.execCommand("insertText", false, "  ");
    }
  }

  window.YamlEditor = YamlEditor;
  window.YamlEditor.highlight = highlight;
  window.YamlEditor.stronger = stronger;
})();
