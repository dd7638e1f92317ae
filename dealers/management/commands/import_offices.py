from dealers.imports import OfficeImporter
from evalsys.commands import ImportCommand


class Command(ImportCommand):
    help = "Import offices (code/编码, name/名称, region/区域) from .xlsx or .csv."
    importer_class = OfficeImporter
