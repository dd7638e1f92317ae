from evalsys.commands import ExportCommand
from scoring.followup.models import WatchEntry
from scoring.followup.watchlist import EXPORT_COLUMNS, export_rows


class Command(ExportCommand):
    help = "Export the watch list (DESIGN.md §6.2)."

    def add_arguments(self, parser):
        parser.add_argument("-o", "--output", help="file to write; .xlsx for Excel, otherwise CSV")

    def handle(self, *args, output, **options):
        self.write(EXPORT_COLUMNS, export_rows(WatchEntry.objects.all()), output=output)
