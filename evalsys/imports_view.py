"""The browser side of every import: upload, preview every row, confirm.

The uploaded file is kept under MEDIA_ROOT/imports between preview and
confirmation, named by a random token remembered in the user's session; the
confirmation re-reads and re-checks it, so nothing is saved that was not shown.
"""

import secrets
import time
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db import DatabaseError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

PREVIEW_LIMIT = 2000
STALE_UPLOAD_SECONDS = 24 * 3600


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("File (.xlsx or .csv)"))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if Path(upload.name).suffix.lower() not in (".xlsx", ".csv"):
            raise forms.ValidationError(_("Only .xlsx and .csv files can be imported."))
        if upload.size > settings.IMPORT_MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(size)s MB.")
                % {"size": settings.IMPORT_MAX_UPLOAD_BYTES // 2**20}
            )
        return upload


def _upload_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _forget_stale_uploads(directory: Path) -> None:
    """Previews nobody confirmed are dropped after a day."""
    cutoff = time.time() - STALE_UPLOAD_SECONDS
    for path in directory.iterdir():
        if path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)


def import_page(request, importer, *, title, columns_help, done_url, template="imports/import.html"):
    """Handle GET (form), POST file (preview) and POST token (confirm) for one importer.

    `done_url`: where a confirmed import leads, or a function of the ImportResult giving it
    (the sales import leads to the month it imported).
    """
    session_key = f"import:{importer.__class__.__name__}"
    context = {
        "title": title,
        "columns": importer.columns,
        "column_labels": {column.name: column.label for column in importer.columns},
        "columns_help": columns_help,
    }
    if request.method == "POST" and "token" in request.POST:
        stored = request.session.get(session_key)
        if not stored or stored["token"] != request.POST["token"]:
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
        if result.saved:
            path.unlink(missing_ok=True)
            del request.session[session_key]
            messages.success(
                request,
                _("%(count)s rows of %(file)s imported.")
                % {"count": len(result.rows), "file": stored["filename"]},
            )
            return redirect(done_url(result) if callable(done_url) else done_url)
        context.update(
            form=UploadForm(),
            result=result,
            filename=stored["filename"],
            preview_rows=result.rows[:PREVIEW_LIMIT],
        )
        return render(request, template, context)
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            content = upload.read()
            token = secrets.token_hex(16) + Path(upload.name).suffix.lower()
            directory = _upload_dir()
            _forget_stale_uploads(directory)
            previous = request.session.get(session_key)
            if previous:
                (directory / previous["token"]).unlink(missing_ok=True)
            (directory / token).write_bytes(content)
            request.session[session_key] = {"token": token, "filename": upload.name}
            result = importer.run(content, upload.name, dry_run=True)
            context.update(
                form=UploadForm(),
                result=result,
                filename=upload.name,
                token=token if result.ok else None,
                preview_rows=result.rows[:PREVIEW_LIMIT],
                preview_truncated=len(result.rows) > PREVIEW_LIMIT,
            )
            return render(request, template, context)
    else:
        form = UploadForm()
    context["form"] = form
    return render(request, template, context)
