"""Base classes for the import and export commands of DESIGN.md §6.2."""

import io
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .periods import parse_month_input, parse_quarter_input, period_error
from .tabular import count_text, write_table


class ImportCommand(BaseCommand):
    """`manage.py import_x FILE [--dry-run]`: all-or-nothing, exit 0 only on success.

    `--template FILE` writes the import template (xlsx: Chinese headers, an example row, the rules).
    """

    importer_class = None

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", help=".xlsx, .xls or .csv (UTF-8, UTF-8 with BOM, GB18030)")
        parser.add_argument("--dry-run", action="store_true", help="check the file, save nothing")
        parser.add_argument(
            "--template",
            metavar="FILE",
            help="write the import template (.xlsx with the headers, an example row and the rules) and stop",
        )

    def get_importer(self, **options):
        return self.importer_class()

    def handle(self, *args, file, dry_run, template=None, **options):
        if template:
            self.write_template(template, **options)
            return
        if not file:
            raise CommandError(_("Name the file to import, or give --template FILE."))
        path = Path(file)
        if not path.is_file():
            raise CommandError(_("%(file)s: no such file") % {"file": file})
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise CommandError(
                _("%(file)s: cannot be read (%(error)s)") % {"file": file, "error": exc.strerror}
            ) from None
        try:
            result = self.get_importer(**options).run(content, path.name, dry_run=dry_run)
        except DatabaseError as exc:
            raise CommandError(
                _("%(file)s: the database failed while importing; nothing was saved (%(error)s)")
                % {"file": path.name, "error": exc}
            ) from exc
        for line, message in result.iter_errors():
            if line:
                self.stderr.write(
                    _("%(file)s: line %(line)s: %(message)s")
                    % {"file": path.name, "line": line, "message": message}
                )
            else:
                self.stderr.write(f"{path.name}: {message}")
        if not result.ok:
            count = result.error_count
            raise CommandError(
                ngettext("%(count)s error; nothing was saved.", "%(count)s errors; nothing was saved.", count)
                % {"count": count}
            )
        actions = {}
        for row in result.rows:
            actions[row.action] = actions.get(row.action, 0) + 1
        count = len(result.rows)
        if dry_run:
            message = ngettext(
                "%(file)s: %(count)s row checked (dry run, nothing saved): %(summary)s",
                "%(file)s: %(count)s rows checked (dry run, nothing saved): %(summary)s",
                count,
            )
        else:
            message = ngettext(
                "%(file)s: %(count)s row imported: %(summary)s",
                "%(file)s: %(count)s rows imported: %(summary)s",
                count,
            )
        self.stdout.write(message % {"file": path.name, "count": count, "summary": count_text(actions)})
        self.report(result, dry_run=dry_run)

    def write_template(self, target, **options):
        path = Path(target)
        if path.suffix.lower() != ".xlsx":
            raise CommandError(_("--template: the template is an .xlsx file: %(file)s") % {"file": target})
        try:
            with open_output(target) as out:
                self.importer_class().template(out)
        except OSError as exc:
            raise CommandError(
                _("%(file)s: cannot be written (%(error)s)") % {"file": target, "error": exc.strerror}
            ) from None
        self.stdout.write(_("%(file)s: template written.") % {"file": target})

    def report(self, result, *, dry_run):
        """Hook for commands that say more after a successful import."""


def open_output(target: str):
    """Open `target` for writing bytes; a missing directory is a user's mistake, not a traceback."""
    path = Path(target)
    if not path.parent.is_dir():
        raise CommandError(_("%(dir)s: no such directory") % {"dir": path.parent})
    try:
        return open(path, "wb")
    except OSError as exc:
        raise CommandError(
            _("%(file)s: cannot be written (%(error)s)") % {"file": target, "error": exc.strerror}
        ) from None


class ExportCommand(BaseCommand):
    """`manage.py export_x PERIOD [-o FILE]`: CSV with BOM to stdout or FILE, xlsx for `.xlsx`.

    PERIOD is a quarter like 2026Q3 or, with `period_kind = "month"`, a month like 2026-09, read
    as typed input (years MIN_YEAR..next year); a bad one is one translated message."""

    period_help = ""
    period_kind = "quarter"  # or "month"

    def add_arguments(self, parser):
        parser.add_argument("period", help=self.period_help)
        parser.add_argument("-o", "--output", help="file to write; .xlsx for Excel, otherwise CSV")

    def parse_period(self, text):
        return parse_month_input(text) if self.period_kind == "month" else parse_quarter_input(text)

    def table(self, period):
        """`(columns, rows)` of the export."""
        raise NotImplementedError

    def handle(self, *args, period, output, **options):
        try:
            parsed = self.parse_period(period)
        except ValueError:
            raise CommandError(period_error(period, quarter=self.period_kind != "month")) from None
        self.write(*self.table(parsed), output=output)

    def write(self, columns, rows, *, output=None):
        """The export to `output` (xlsx when it ends in .xlsx, else CSV) or as CSV to stdout."""
        if output:
            with open_output(output) as target:
                write_table(columns, rows, target, xlsx=output.lower().endswith(".xlsx"))
            return
        buffer = io.BytesIO()
        write_table(columns, rows, buffer)
        out = self.stdout._out
        if hasattr(out, "buffer"):
            out.flush()
            out.buffer.write(buffer.getvalue())
            out.buffer.flush()
        else:  # a text stream, e.g. call_command(stdout=StringIO())
            out.write(buffer.getvalue().decode("utf-8"))
