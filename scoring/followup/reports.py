"""The support report as an Excel workbook for people (DESIGN.md §6.2: the browser's second export).

Like `evalsys.reports` (whose cells and number formats it uses), with headers and labels in
the user's language, office names, frozen header rows, filters, column widths and number
formats; it differs in having four sheets (summary with a chart, by class and kind, the C
dealers given support, the A dealers left without) where `evalsys.reports` writes one.
"""

import io

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Font

from evalsys.reports import NUMBER_FORMATS, report_cell

from .models import SupportKind

MONEY = NUMBER_FORMATS["money"]


def _sheet(workbook, title, headers, rows, widths, formats):
    sheet = workbook.create_sheet(title)
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([report_cell(v, "text") if isinstance(v, str) else v for v in row])
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[chr(64 + index)].width = width
    for column, number_format in formats.items():
        for (cell,) in sheet.iter_rows(min_row=2, min_col=column, max_col=column):
            cell.number_format = number_format
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    return sheet


def _class_label(grade_class):
    return grade_class or _("No class")


def support_report(*, quarter, rows, summaries, office_names, c_dealers, a_dealers) -> bytes:
    kinds = dict(SupportKind.choices)
    workbook = Workbook()
    workbook.remove(workbook.active)
    classes = ["A", "B", "C", ""]
    summary = _sheet(
        workbook,
        _("Summary"),
        [
            _("Office"),
            *[_("Value, class %(cls)s") % {"cls": _class_label(c)} for c in classes],
            _("Entries to C dealers"),
            _("A dealers without support"),
        ],
        [
            [
                office_names.get(code, code),
                *[s.by_class.get(c, {}).get("value", 0) for c in classes],
                s.c_supported_count,
                s.a_without_support,
            ]
            for code, s in summaries.items()
        ],
        [22, 16, 16, 16, 16, 18, 22],
        {2: MONEY, 3: MONEY, 4: MONEY, 5: MONEY, 6: "0", 7: "0"},
    )
    if summaries:
        chart = BarChart()
        chart.type = "col"
        chart.grouping = "stacked"
        chart.overlap = 100
        chart.title = _("Support value by class, %(quarter)s") % {"quarter": quarter}
        count = len(summaries)
        chart.add_data(
            Reference(summary, min_col=2, max_col=5, min_row=1, max_row=count + 1), titles_from_data=True
        )
        chart.set_categories(Reference(summary, min_col=1, min_row=2, max_row=count + 1))
        chart.width, chart.height = 18, 9
        summary.add_chart(chart, f"A{count + 4}")
    _sheet(
        workbook,
        _("By class and kind"),
        [_("Quarter"), _("Office"), _("Class"), _("Kind of support"), _("Entries"), _("Value (yuan)")],
        [
            [
                str(quarter),
                office_names.get(r.office, r.office),
                _class_label(r.grade_class),
                str(kinds.get(r.kind, r.kind)),
                r.count,
                r.value,
            ]
            for r in rows
        ],
        [10, 22, 10, 22, 10, 16],
        {5: "0", 6: MONEY},
    )
    _sheet(
        workbook,
        _("C dealers supported"),
        [_("Dealer"), _("Name"), _("Office"), _("Entries"), _("Value (yuan)")],
        [[g.dealer.code, g.dealer.name, g.office.name, g.support_count, g.support_value] for g in c_dealers],
        [14, 30, 22, 10, 16],
        {4: "0", 5: MONEY},
    )
    _sheet(
        workbook,
        _("A dealers without support"),
        [_("Dealer"), _("Name"), _("Office"), _("Total score")],
        [[g.dealer.code, g.dealer.name, g.office.name, g.total] for g in a_dealers],
        [14, 30, 22, 12],
        {4: "0.00"},
    )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
