package classify

import (
	"regexp"
	"strconv"
	"time"
)

// endOfWork is the hour a "today"/"by Friday" deadline means.
const endOfWork = 18

var (
	reWithin     = regexp.MustCompile(`(\d{1,3})\s*(?:个)?(小时|分钟)(?:之)?内|within (\d{1,3}) (hours?|minutes?)`)
	reToday      = regexp.MustCompile(`今天(?:必须|之内|内|下班前|务必|前|就要)|今日内|务必今天|今晚|by today|by end of (?:the )?day|\beod\b|end of day today|by tonight`)
	reTomorrow   = regexp.MustCompile(`明天(上午|早上|中午|下班前|之前|前|内)|明早|by tomorrow(?: morning)?|before tomorrow`)
	reThisWeek   = regexp.MustCompile(`本周(?:内|五前|五之前)|这周(?:内|五前)|周五(?:之)?前|星期五(?:之)?前|下周(?:之)?前|by friday|before friday|by the end of (?:the|this) week|before next week|end of this week`)
	reNextMonday = regexp.MustCompile(`下周一(?:之)?前|by monday|before monday`)
	reDate       = regexp.MustCompile(`(?:(\d{4})[-/年.])?(\d{1,2})[-/月.](\d{1,2})[日号]?\s*(?:之前|以前|前|截止)|(?:before|by|due|deadline:?)\s*(?:(\d{4})-)?(\d{1,2})[-/](\d{1,2})`)
)

// StatedDeadline finds a deadline the customer wrote in text ("2小时内",
// "今天必须", "明天上午", "周五前", "11月30日前", "before next week",
// "by 11/30") and returns it for a demand received at received, in loc,
// with the words that said it.
func StatedDeadline(text string, received time.Time, loc *time.Location) (time.Time, string, bool) {
	s := Fold(text)
	now := received.In(loc)
	day := func(t time.Time, hour int) time.Time {
		return time.Date(t.Year(), t.Month(), t.Day(), hour, 0, 0, 0, loc)
	}
	var best time.Time
	var phrase string
	consider := func(t time.Time, p string) {
		if best.IsZero() || t.Before(best) {
			best, phrase = t, p
		}
	}
	for _, m := range reWithin.FindAllStringSubmatch(s, -1) {
		n, unit := m[1], m[2]
		if n == "" {
			n, unit = m[3], m[4]
		}
		v, _ := strconv.Atoi(n)
		if v <= 0 {
			continue
		}
		d := time.Duration(v) * time.Hour
		if unit == "分钟" || unit[0] == 'm' {
			d = time.Duration(v) * time.Minute
		}
		consider(received.Add(d), m[0])
	}
	if m := reToday.FindString(s); m != "" {
		t := day(now, endOfWork)
		if !t.After(now) {
			t = day(now, 23).Add(59 * time.Minute)
		}
		consider(t, m)
	}
	if m := reTomorrow.FindStringSubmatch(s); m != nil {
		hour := endOfWork
		switch m[1] {
		case "上午", "早上", "中午":
			hour = 12
		}
		if m[0] == "明早" || m[0] == "by tomorrow morning" {
			hour = 12
		}
		consider(day(now.AddDate(0, 0, 1), hour), m[0])
	}
	if m := reThisWeek.FindString(s); m != "" {
		t := now
		for t.Weekday() != time.Friday {
			t = t.AddDate(0, 0, 1)
		}
		consider(day(t, endOfWork), m)
	}
	if m := reNextMonday.FindString(s); m != "" {
		t := now.AddDate(0, 0, 1)
		for t.Weekday() != time.Monday {
			t = t.AddDate(0, 0, 1)
		}
		consider(day(t, 9), m)
	}
	for _, m := range reDate.FindAllStringSubmatch(s, -1) {
		y, mo, d := m[1], m[2], m[3]
		if mo == "" {
			y, mo, d = m[4], m[5], m[6]
		}
		month, _ := strconv.Atoi(mo)
		dd, _ := strconv.Atoi(d)
		year := now.Year()
		if y != "" {
			year, _ = strconv.Atoi(y)
		}
		if month < 1 || month > 12 || dd < 1 || dd > 31 {
			continue
		}
		t := time.Date(year, time.Month(month), dd, endOfWork, 0, 0, 0, loc)
		if y == "" && t.Before(day(now, 0)) { // "1月5日前" written in December
			t = t.AddDate(1, 0, 0)
		}
		if t.After(now) {
			consider(t, m[0])
		}
	}
	return best, phrase, !best.IsZero()
}
