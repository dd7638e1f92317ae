from dealers.targets.imports import AgreementImporter
from evalsys.commands import ImportCommand


class Command(ImportCommand):
    help = "Import annual agreements from .xlsx or .csv; a known dealer and year is updated."
    importer_class = AgreementImporter
