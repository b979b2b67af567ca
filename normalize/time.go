package normalize

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// timeLayouts are the timestamp shapes of the survey platforms' exports:
// 问卷星 (2016/12/17 14:25:31), 腾讯问卷 (02-Feb-2021 20:26:58), Google Forms
// (2026/09/27 3:00:00 PM, 5/10/2026 09:15:00), Microsoft Forms (9/9/26 18:01)
// and ISO 8601.
var timeLayouts = []string{
	"2006/1/2 15:04:05", "2006-1-2 15:04:05", "2006/1/2 15:04", "2006-1-2 15:04",
	"2006-01-02T15:04:05Z07:00", "2006-01-02T15:04:05", "2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05.999999999", "2006/1/2 3:04:05 PM", "2006/1/2 3:04 PM",
	"02-Jan-2006 15:04:05", "2-Jan-2006 15:04:05", "1/2/2006 15:04:05", "1/2/2006 15:04",
	"1/2/2006 3:04:05 PM", "1/2/2006 3:04 PM", "1/2/06 15:04", "1/2/06 3:04 PM",
	"2006年1月2日 15:04:05", "2006年1月2日 15:04", "2006/1/2", "2006-1-2", "2006年1月2日", "1/2/2006",
}

var gmtOffset = regexp.MustCompile(`\s*(?:GMT|UTC)([+-]\d{1,2})(?::?(\d{2}))?$`)

// ParseTime reads a timestamp as written in a spreadsheet cell. Times
// without a zone are in loc. A bare number is an Excel serial date.
func ParseTime(s string, loc *time.Location) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	// The regexp is unanchored at its start: tried at every position of
	// every timestamp of a questionnaire, it cost more than the parse.
	if strings.Contains(s, "GMT") || strings.Contains(s, "UTC") {
		if m := gmtOffset.FindStringSubmatch(s); m != nil {
			h, _ := strconv.Atoi(m[1])
			mins, _ := strconv.Atoi(m[2])
			off := h*3600 + sign(h)*mins*60
			loc = time.FixedZone("GMT"+m[1], off)
			s = s[:len(s)-len(m[0])]
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f > 20000 && f < 100000 { // 1954–2173: an Excel serial, not a year or an ID
			return excelTime(f, loc), true
		}
		return time.Time{}, false
	}
	for _, l := range timeLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func sign(n int) int {
	if n < 0 {
		return -1
	}
	return 1
}

// excelTime converts an Excel serial date (1900 system) to wall time in loc.
func excelTime(f float64, loc *time.Location) time.Time {
	days := math.Floor(f)
	secs := math.Round((f - days) * 86400)
	base := time.Date(1899, 12, 30, 0, 0, 0, 0, loc)
	return base.AddDate(0, 0, int(days)).Add(time.Duration(secs) * time.Second)
}
