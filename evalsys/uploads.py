"""Uploads stop at IMPORT_MAX_UPLOAD_BYTES while they arrive, not after.

`LimitedUploadHandler` is the first of `FILE_UPLOAD_HANDLERS`: it counts the
bytes of every file in a request and, past the limit, stops the upload. The
form fields read before the file (the CSRF token comes first in every form)
are kept, the partial file is dropped, and the request is marked so that the
page says the file was too large instead of "this field is required". A body
declaring far more than the limit is cut off without reading the rest.
"""

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.utils.translation import gettext as _

# Form fields around the file(s) in a multipart body.
FIELD_ALLOWANCE = 1024 * 1024


class LimitedUploadHandler(FileUploadHandler):
    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.limit = settings.IMPORT_MAX_UPLOAD_BYTES
        self.received = 0
        self.declared = content_length or 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            if self.request is not None:
                self.request.upload_too_large = True
            # Far larger than allowed: stop reading; otherwise read the rest away so that
            # the browser shows the page that says why.
            raise StopUpload(connection_reset=self.declared > 4 * self.limit + FIELD_ALLOWANCE)
        return raw_data

    def file_complete(self, file_size):
        return None


def too_large_message() -> str:
    return _("The file is larger than %(size)s MB; nothing of it was kept.") % {
        "size": settings.IMPORT_MAX_UPLOAD_BYTES // 2**20
    }


def upload_too_large(request) -> bool:
    return getattr(request, "upload_too_large", False)


def serve_protected(field_file):
    """An uploaded file, to a user the calling view has already checked.

    Django streams it (`FileResponse`), or, with `MEDIA_X_ACCEL_PREFIX` set, hands it to the proxy
    with `X-Accel-Redirect` to that internal location (which must not be public: nginx `internal;`).
    Works with DEBUG off; nothing under MEDIA_ROOT is served at a public URL.
    """
    import mimetypes
    from urllib.parse import quote

    from django.http import FileResponse, Http404, HttpResponse

    content_type = mimetypes.guess_type(field_file.name)[0] or "application/octet-stream"
    prefix = settings.MEDIA_X_ACCEL_PREFIX
    if prefix:
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = f"{prefix.rstrip('/')}/{quote(field_file.name)}"
    else:
        try:
            response = FileResponse(field_file.open("rb"), content_type=content_type)
        except FileNotFoundError:
            raise Http404 from None
    response["Content-Disposition"] = "inline"
    response["Cache-Control"] = "private, max-age=3600"
    return response
