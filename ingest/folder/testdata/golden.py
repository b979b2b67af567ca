#!/usr/bin/python3
"""Dump every cell of the .xls workbooks here as xlrd reads them.

The output is xls-golden.jsonl, which ingest/folder/biff's golden test
compares its own reading with, cell by cell. It is made once and committed;
no test runs this script. To make it again (Debian: apt-get install
python3-xlrd, which is xlrd 1.2.0):

    cd ingest/folder/testdata && /usr/bin/python3 golden.py > xls-golden.jsonl

One JSON line per sheet row, every row of xlrd's nrows x ncols grid:

    {"file": "357_357_0.xls", "sheet": "Sheet1", "row": 0, "cells": [[TYPE, VALUE], ...]}

TYPE is xlrd's cell type by name: empty, text, number, date, bool, error.
VALUE is as xlrd gives it: the text; the number; for a date the serial
number (a float) xlrd reports with type date when the cell's XF format is a
date format; for bool 0 or 1; for error the BIFF error code; "" for empty.
Before the rows of a file comes one line naming it, its date mode (0: 1900
system, 1: 1904) and its sheets: {"file": ..., "datemode": 0, "sheets": [...]}.
"""
import glob
import json
import sys

import xlrd

TYPES = {
    xlrd.XL_CELL_EMPTY: "empty",
    xlrd.XL_CELL_TEXT: "text",
    xlrd.XL_CELL_NUMBER: "number",
    xlrd.XL_CELL_DATE: "date",
    xlrd.XL_CELL_BOOLEAN: "bool",
    xlrd.XL_CELL_ERROR: "error",
    xlrd.XL_CELL_BLANK: "empty",
}


def main():
    out = sys.stdout
    for name in sorted(glob.glob("*.xls")):
        book = xlrd.open_workbook(name)
        out.write(json.dumps({"file": name, "datemode": book.datemode,
                              "sheets": book.sheet_names()}, ensure_ascii=False) + "\n")
        for sheet in book.sheets():
            for r in range(sheet.nrows):
                cells = []
                for c in range(sheet.ncols):
                    cell = sheet.cell(r, c)
                    cells.append([TYPES[cell.ctype], cell.value])
                out.write(json.dumps({"file": name, "sheet": sheet.name, "row": r, "cells": cells},
                                     ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
