"""Reads a tracking table with openpyxl and prints what it sees as JSON.

Called by TestOpenpyxl with the workbook's path: a reader that is not
excelize checks the filter, the print setup and the cells.
"""
import json
import sys

import openpyxl

wb = openpyxl.load_workbook(sys.argv[1])
ws = wb.worksheets[0]


def cell(c):
    v = c.value
    if hasattr(v, "isoformat"):
        v = v.isoformat(timespec="minutes")
    return {"value": v, "type": c.data_type, "format": c.number_format}


setup = ws.page_setup
names = [d.name for d in wb.defined_names.definedName]
for sheet in wb.worksheets:  # openpyxl keeps sheet-scoped names on the sheet
    names += list(getattr(sheet, "defined_names", {}) or [])
json.dump({
    "title": ws["A1"].value,
    "meta": ws["A2"].value,
    "legend": ws["D1"].value,
    "legend_fill": ws["D1"].fill.fgColor.rgb,
    "overdue_fill": ws["A7"].fill.fgColor.rgb,
    "header": [c.value for c in ws[3]],
    "auto_filter": ws.auto_filter.ref,
    "print_title_rows": ws.print_title_rows,
    "orientation": setup.orientation,
    "paper_size": setup.paperSize,
    "fit_to_width": setup.fitToWidth,
    "fit_to_height": setup.fitToHeight,
    "fit_to_page": ws.sheet_properties.pageSetUpPr.fitToPage if ws.sheet_properties.pageSetUpPr else None,
    "freeze_panes": ws.freeze_panes,
    "hidden": sorted(k for k, d in ws.column_dimensions.items() if d.hidden),
    "rows": [[cell(c) for c in row] for row in ws.iter_rows(min_row=4, max_col=ws.max_column)],
}, sys.stdout, ensure_ascii=False)
