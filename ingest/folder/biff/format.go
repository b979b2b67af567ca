package biff

import "strings"

// builtInDate reports the built-in number formats (those a workbook uses
// by number without a FORMAT record) that show a date or time: 14–22 and
// 45–47 in every locale, 27–36 and 50–58 in the Chinese, Japanese and
// Korean ones (yyyy"年"m"月"d"日" and the like), 71–81 in the Thai one.
func builtInDate(id uint16) bool {
	switch {
	case id >= 14 && id <= 22, id >= 45 && id <= 47, id >= 27 && id <= 36, id >= 50 && id <= 58, id >= 71 && id <= 81:
		return true
	}
	return false
}

// dateFormat reports whether a number format code shows a date or time:
// once literal text ("…", \x), fill and padding (*x, _x) and bracketed
// parts ([Red], [$-804], [h]) are set aside, it holds more date and time
// letters (y m d h s) than digit placeholders (0 # ?). This is the rule
// xlrd applies, so that a cell is a date here when it is one there.
func dateFormat(code string) bool {
	lower := strings.ToLower(code)
	dates, digits := 0, 0
	for i := 0; i < len(lower); i++ {
		switch lower[i] {
		case '"':
			if j := strings.IndexByte(lower[i+1:], '"'); j >= 0 {
				i += j + 1
			} else {
				i = len(lower)
			}
		case '\\', '*', '_':
			i++ // the next character is literal, a fill or a width
		case '[':
			if j := strings.IndexByte(lower[i+1:], ']'); j >= 0 {
				i += j + 1
			} else {
				i = len(lower)
			}
		case 'y', 'm', 'd', 'h', 's':
			dates++
		case '0', '#', '?':
			digits++
		}
	}
	return dates > digits
}
