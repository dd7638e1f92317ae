/* Behaviour every page shares, without inline script (the Content-Security-Policy allows only the
   app's own files):
   - <select data-autosubmit> submits its form when changed;
   - <button data-print> prints the page;
   - <button data-fill="ID" data-value="…"> puts its value into the field ID (e.g. a visit's purpose). */
(function () {
  document.querySelectorAll("[data-autosubmit]").forEach(function (field) {
    field.addEventListener("change", function () { field.form.submit(); });
  });
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
  document.querySelectorAll("[data-fill]").forEach(function (button) {
    button.addEventListener("click", function () {
      document.getElementById(button.dataset.fill).value = button.dataset.value;
    });
  });
})();
