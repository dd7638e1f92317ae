"""Base classes for the import and export commands of DESIGN.md §6.2."""

import io
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from .tabular import write_table


class ImportCommand(BaseCommand):
    """`manage.py import_x FILE [--dry-run]`: all-or-nothing, exit 0 only on success."""

    importer_class = None

    def add_arguments(self, parser):
        parser.add_argument("file", help=".xlsx or .csv (UTF-8, UTF-8 with BOM, GB18030)")
        parser.add_argument("--dry-run", action="store_true", help="check the file, save nothing")

    def get_importer(self, **options):
        return self.importer_class()

    def handle(self, *args, file, dry_run, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{file}: no such file")
        try:
            result = self.get_importer(**options).run(path.read_bytes(), path.name, dry_run=dry_run)
        except DatabaseError as exc:
            raise CommandError(
                f"{path.name}: the database failed while importing; nothing was saved ({exc})"
            ) from exc
        for line, message in result.errors:
            self.stderr.write(f"{path.name}: line {line}: {message}" if line else f"{path.name}: {message}")
        if not result.ok:
            raise CommandError(f"{len(result.errors)} error(s); nothing was saved.")
        actions = {}
        for row in result.rows:
            actions[row.action] = actions.get(row.action, 0) + 1
        summary = ", ".join(f"{count} {action}" for action, count in sorted(actions.items()))
        verb = "checked (dry run, nothing saved)" if dry_run else "imported"
        self.stdout.write(f"{path.name}: {len(result.rows)} rows {verb}: {summary}")
        self.report(result, dry_run=dry_run)

    def report(self, result, *, dry_run):
        """Hook for commands that say more after a successful import."""


class ExportCommand(BaseCommand):
    """`manage.py export_x PERIOD [-o FILE]`: CSV with BOM to stdout or FILE, xlsx for `.xlsx`."""

    period_help = ""

    def add_arguments(self, parser):
        parser.add_argument("period", help=self.period_help)
        parser.add_argument("-o", "--output", help="file to write; .xlsx for Excel, otherwise CSV")

    def parse_period(self, text):
        raise NotImplementedError

    def table(self, period):
        """`(columns, rows)` of the export."""
        raise NotImplementedError

    def handle(self, *args, period, output, **options):
        try:
            parsed = self.parse_period(period)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.write(*self.table(parsed), output=output)

    def write(self, columns, rows, *, output=None):
        """The export to `output` (xlsx when it ends in .xlsx, else CSV) or as CSV to stdout."""
        if output:
            try:
                with open(output, "wb") as target:
                    write_table(columns, rows, target, xlsx=output.lower().endswith(".xlsx"))
            except OSError as exc:
                raise CommandError(f"{output}: cannot write ({exc.strerror})") from None
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
