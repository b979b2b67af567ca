#!/usr/bin/python3
"""Write xlwt-types.xls: cells of every kind the .xls reader handles that the
问卷星 exports lack (dates and times under several number formats, booleans,
error codes, formulas (xlwt stores no result: xlrd reads an empty text), long texts that the shared string table carries on
in CONTINUE records, a character beyond the BMP) on two sheets, the second
one active. Made once and committed; xls-golden.jsonl holds xlrd's reading
of it like the exports'. To make it again (Debian: apt-get install
python3-xlwt python3-xlrd):

    cd ingest/folder/testdata && /usr/bin/python3 make_xlwt.py && /usr/bin/python3 golden.py > xls-golden.jsonl
"""
import datetime

import xlwt

book = xlwt.Workbook(encoding="utf-8")
first = book.add_sheet("说明")
first.write(0, 0, "这张表不是当前表")
sheet = book.add_sheet("答卷")
book.active_sheet = 1
first.set_selected(False)
sheet.set_selected(True)

header = ["序号", "提交答卷时间", "日期", "时间", "金额", "比例", "是否", "错误", "公式", "需求描述"]
for c, h in enumerate(header):
    sheet.write(0, c, h)

formats = {
    "datetime": xlwt.easyxf(num_format_str="yyyy/m/d h:mm:ss"),
    "date": xlwt.easyxf(num_format_str="yyyy-mm-dd"),
    "time": xlwt.easyxf(num_format_str="h:mm:ss"),
    "money": xlwt.easyxf(num_format_str="#,##0.00"),
    "percent": xlwt.easyxf(num_format_str="0%"),
    "cn": xlwt.easyxf(num_format_str='yyyy"年"m"月"d"日"'),
    "short": xlwt.easyxf(num_format_str="m/d/yy"),
}
base = datetime.datetime(2016, 12, 17, 14, 22, 55)
long_latin = "The report export is slow. " * 400  # ~10,800 bytes: continues
long_han = "报表导出太慢，希望优化。" * 800  # 9,600 characters, 19,200 bytes as UTF-16
for r in range(1, 21):
    when = base + datetime.timedelta(days=r * 3, seconds=r * 37)
    sheet.write(r, 0, r)
    sheet.write(r, 1, when, formats["datetime"] if r % 3 else formats["cn"])
    sheet.write(r, 2, when.date(), formats["date"] if r % 2 else formats["short"])
    sheet.write(r, 3, datetime.time(r % 24, (r * 7) % 60, (r * 13) % 60), formats["time"])
    sheet.write(r, 4, 1234.5 * r - 0.01, formats["money"])
    sheet.write(r, 5, r / 40, formats["percent"])
    sheet.write(r, 6, r % 2 == 0)
    if r % 4 == 0:
        sheet.row(r).set_cell_error(7, [0x07, 0x2A, 0x0F, 0x17, 0x1D][r % 5])
    else:
        sheet.write(r, 7, -r * 1.5)
    sheet.write(r, 8, xlwt.Formula("A%d*2" % (r + 1)))
    text = ["希望增加批量导出功能（第%d条）" % r, long_latin, long_han, "emoji 😀 and 中文 mixed %d" % r][r % 4]
    sheet.write(r, 9, text)
sheet.write(21, 0, 123456789012)  # not an RK integer
sheet.write(21, 1, -0.000123)
sheet.write(22, 0, "")

book.save("xlwt-types.xls")
