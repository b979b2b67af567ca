package folder

// openXLS reads a legacy BIFF8 .xls workbook.
func openXLS(path string) (rowReader, error) {
	return nil, fileErrorf("legacy .xls workbooks are not read; open the file in Excel or WPS, save it as .xlsx (Excel 工作簿) and drop that file in")
}
