from evalsys.commands import ImportCommand
from networks.imports import VisitImporter


class Command(ImportCommand):
    help = "Import visits (e.g. from paper logs) from .xlsx or .csv; all or nothing."
    importer_class = VisitImporter
