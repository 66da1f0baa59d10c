// The header's language switch submits as soon as a language is picked (no inline handler: the CSP forbids them).
document.addEventListener("change", (event) => {
  const select = event.target.closest("select[data-submit-on-change]");
  if (select) select.form.submit();
});
