from dealers.targets.imports import SalesImporter
from evalsys.commands import ImportCommand


class Command(ImportCommand):
    help = (
        "Import monthly actual sales; a month imported again replaces its figures and recomputes its points."
    )
    importer_class = SalesImporter
