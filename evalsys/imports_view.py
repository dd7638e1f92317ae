"""The browser side of every import: upload, preview every row, confirm.

The uploaded file is kept under MEDIA_ROOT/imports between preview and
confirmation, named by a random token remembered in the user's session; the
confirmation re-reads and re-checks it, so nothing is saved that was not shown.
A refused file is not kept: only its list of errors is, for the download
offered on the page, until the next upload or a day later.
"""

import io
import secrets
import time
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db import DatabaseError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from .reading import SUFFIXES
from .tabular import write_table
from .uploads import too_large_message, upload_too_large

PREVIEW_LIMIT = 500
ERROR_LIMIT = 100
STALE_UPLOAD_SECONDS = 24 * 3600
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("File (.xlsx, .xls or .csv)"))

    def __init__(self, *args, too_large=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.too_large = too_large

    def clean(self):
        if self.too_large:
            self.errors.pop("file", None)
            raise forms.ValidationError(too_large_message())
        return super().clean()

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if Path(upload.name).suffix.lower() not in SUFFIXES:
            raise forms.ValidationError(_("Only .xlsx, .xls and .csv files can be imported."))
        if upload.size > settings.IMPORT_MAX_UPLOAD_BYTES:
            raise forms.ValidationError(too_large_message())
        return upload


def _upload_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _forget_stale_uploads(directory: Path) -> None:
    """Previews nobody confirmed, and error lists, are dropped after a day."""
    cutoff = time.time() - STALE_UPLOAD_SECONDS
    for path in directory.iterdir():
        if path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)


def _forget(directory: Path, stored: dict | None) -> None:
    for key in ("token", "errors"):
        if stored and stored.get(key):
            (directory / stored[key]).unlink(missing_ok=True)


def template_response(importer, name: str):
    buffer = io.BytesIO()
    importer.template(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{name}-template.xlsx"'
    return response


def _error_columns():
    return [_("Line"), _("Column"), _("Cell value"), _("Problem")]


def import_page(request, importer, *, title, columns_help, done_url, template="imports/import.html"):
    """Handle GET (form, template, error list), POST file (preview) and POST token (confirm).

    `done_url`: where a confirmed import leads, or a function of the ImportResult giving it
    (the sales import leads to the month it imported).
    """
    name = importer.__class__.__name__
    session_key = f"import:{name}"
    slug = name.removesuffix("Importer").lower() or "import"
    if request.method == "GET" and "template" in request.GET:
        return template_response(importer, slug)
    if request.method == "GET" and "errors" in request.GET:
        stored = request.session.get(session_key) or {}
        path = _upload_dir() / stored["errors"] if stored.get("errors") else None
        if path is None or not path.is_file():
            raise Http404
        return FileResponse(
            path.open("rb"), as_attachment=True, filename=f"{slug}-errors.csv", content_type="text/csv"
        )
    context = {
        "title": title,
        "columns": importer.columns,
        "column_labels": {column.name: column.label for column in importer.columns},
        "columns_help": columns_help,
        "error_limit": ERROR_LIMIT,
    }
    if request.method == "POST" and "token" in request.POST:
        stored = request.session.get(session_key)
        if not stored or stored.get("token") != request.POST["token"]:
            messages.error(request, _("This preview has expired; please upload the file again."))
            return redirect(request.path)
        path = _upload_dir() / stored["token"]
        if not path.is_file():
            messages.error(request, _("This preview has expired; please upload the file again."))
            return redirect(request.path)
        try:
            result = importer.run(path.read_bytes(), stored["filename"])
        except DatabaseError:
            messages.error(
                request,
                _("The database could not be reached while saving; nothing was imported. Please try again."),
            )
            return redirect(request.path)
        _forget(_upload_dir(), stored)
        del request.session[session_key]
        if result.saved:
            count = len(result.rows)
            messages.success(
                request,
                ngettext("%(count)s row of %(file)s imported.", "%(count)s rows of %(file)s imported.", count)
                % {"count": count, "file": stored["filename"]},
            )
            return redirect(done_url(result) if callable(done_url) else done_url)
        context.update(_result_context(request, result, stored["filename"], session_key))
        context["form"] = UploadForm()
        return render(request, template, context)
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES, too_large=upload_too_large(request))
        if form.is_valid():
            upload = form.cleaned_data["file"]
            content = upload.read()
            directory = _upload_dir()
            _forget_stale_uploads(directory)
            _forget(directory, request.session.pop(session_key, None))
            result = importer.run(content, upload.name, dry_run=True)
            stored = {"filename": upload.name}
            if result.ok:
                stored["token"] = secrets.token_hex(16) + Path(upload.name).suffix.lower()
                (directory / stored["token"]).write_bytes(content)
            request.session[session_key] = stored
            context.update(_result_context(request, result, upload.name, session_key))
            context.update(form=UploadForm(), token=stored.get("token"))
            return render(request, template, context)
    else:
        form = UploadForm()
    context["form"] = form
    return render(request, template, context)


def _result_context(request, result, filename, session_key) -> dict:
    """The preview: the first rows, the first errors, and the whole error list kept for download."""
    context = {
        "result": result,
        "filename": filename,
        "preview_rows": result.rows[:PREVIEW_LIMIT],
        "preview_truncated": len(result.rows) > PREVIEW_LIMIT,
        "preview_limit": PREVIEW_LIMIT,
        "error_count": result.error_count,
        "first_errors": result.first_errors(ERROR_LIMIT),
    }
    if result.rows and not result.ok:  # a file-level error is the whole story: no list to download
        name = secrets.token_hex(16) + ".errors.csv"
        with (_upload_dir() / name).open("wb") as target:
            write_table(_error_columns(), result.error_table(), target)
        stored = request.session.get(session_key) or {"filename": filename}
        request.session[session_key] = {**stored, "errors": name}
        context["errors_url"] = f"{request.path}?errors=1"
    return context
