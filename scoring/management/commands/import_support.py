from evalsys.commands import ImportCommand
from scoring.followup.imports import SupportImporter


class Command(ImportCommand):
    help = "Import support given to dealers (DESIGN.md §6.2 support file)."
    importer_class = SupportImporter
