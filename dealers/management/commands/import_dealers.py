from dealers.imports import DealerImporter
from evalsys.commands import ImportCommand


class Command(ImportCommand):
    help = "Import dealers from .xlsx or .csv; known codes are updated."
    importer_class = DealerImporter
