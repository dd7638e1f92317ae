from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from evalsys.commands import ImportCommand
from scoring.imports import ScoreImporter


class Command(ImportCommand):
    help = "Import manual scores; with --approve --by USERNAME, approve the rounds they complete."
    importer_class = ScoreImporter

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--approve", action="store_true", help="approve the rounds the file completes")
        parser.add_argument("--by", help="username in whose name rounds are approved")

    def get_importer(self, *, approve=False, by=None, **options):
        approver = None
        if approve:
            if not by:
                raise CommandError("--approve needs --by USERNAME")
            approver = get_user_model().objects.filter(username=by).first()
            if approver is None:
                raise CommandError(f"--by: unknown user {by}")
        self._importer = ScoreImporter(approve_as=approver)
        return self._importer

    def report(self, result, *, dry_run):
        for line in self._importer.outcome:
            self.stdout.write(line)
