/* The admin export page's "select all" toggle, bound here instead of an inline onchange
   (templates/admin/import_export/export.html); onSelectToggleChange is django-import-export's. */
document.querySelectorAll("input.select-toggle").forEach(function (toggle) {
  toggle.addEventListener("change", function (event) { onSelectToggleChange(event); });
});
