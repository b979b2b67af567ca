package folder

// openXLS refuses legacy BIFF .xls workbooks. The one pure-Go reader that
// reads 问卷星's .xls exports correctly (github.com/shakinm/xlsReader) is
// GPL-3.0, unreleased since 2022 with open panic reports, and can exhaust
// memory on a corrupt file in a way recover cannot catch — which would let
// one bad file stop the daemon. Until a maintained reader exists, the user
// is told to save the file as .xlsx, which every spreadsheet program does.
func openXLS(string) (rowReader, error) {
	return nil, fileErrorf("暂不读取旧版 .xls 工作簿：请用 Excel 或 WPS 打开，另存为 .xlsx（Excel 工作簿）后放入文件夹",
		"legacy .xls workbooks are not read; open the file in Excel or WPS, save it as .xlsx (Excel 工作簿) and drop that file in")
}
