from dealers.targets.imports import TargetImporter
from evalsys.commands import ImportCommand


class Command(ImportCommand):
    help = (
        "Import agreed monthly targets (history migration); months without an annual agreement are refused."
    )
    importer_class = TargetImporter
