package classify

import (
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// endOfWork is the hour a "today"/"by Friday" deadline means.
const endOfWork = 18

// A deadline pattern is tried only in a small window around its anchor
// words: most texts state no deadline, and a regexp run over a kilobyte
// costs far more than a substring search.
type deadlinePattern struct {
	re        *regexp.Regexp
	anchors   []string
	needDigit bool // a match holds a digit: skip windows without one
}

var (
	dlWithin = deadlinePattern{regexp.MustCompile(`(\d{1,3})\s*(?:个)?(小时|分钟)(?:之)?内|within (\d{1,3}) (hours?|minutes?)`),
		[]string{"小时", "分钟", "within"}, true}
	dlDate = deadlinePattern{regexp.MustCompile(`(?:(\d{4})[-/年.])?(\d{1,2})[-/月.](\d{1,2})[日号]?\s*(?:之前|以前|前|截止|开业|上线|开学|投产|启用)|(?:before|by|due|deadline:?)\s*(?:(\d{4})-)?(\d{1,2})[-/](\d{1,2})`),
		[]string{"前", "截止", "开业", "上线", "开学", "投产", "启用", "before", "by", "due", "deadline"}, true}
)

// Fixed deadline phrases need no regexp: the automaton finds them whole.
const (
	kindToday = iota
	kindTomorrow
	kindTomorrowNoon
	kindThisWeek
	kindMonday
)

var deadlinePhrases = [][]string{
	kindToday: {"今天必须", "今天之内", "今天内", "今天下班前", "今天务必", "今天前", "今天就要", "今日内", "务必今天", "今晚",
		"by today", "by end of day", "by end of the day", "eod", "end of day today", "by tonight"},
	kindTomorrow:     {"明天下班前", "明天之前", "明天前", "明天内", "by tomorrow", "before tomorrow"},
	kindTomorrowNoon: {"明天上午", "明天早上", "明天中午", "明早", "by tomorrow morning"},
	kindThisWeek: {"本周内", "本周五前", "本周五之前", "这周内", "这周五前", "周五前", "周五之前", "星期五前", "星期五之前",
		"下周前", "下周之前", "by friday", "before friday", "by the end of the week", "by the end of this week",
		"before next week", "end of this week"},
	kindMonday: {"下周一前", "下周一之前", "by monday", "before monday"},
}

// deadlineWords is one automaton over the fixed phrases and the regexp
// patterns' anchors: word id → (fixed kind) or (regexp pattern).
var deadlineWords, wordKind, wordPattern = func() (*automaton, []int, []*deadlinePattern) {
	var words []string
	var kinds []int
	var pats []*deadlinePattern
	for kind, list := range deadlinePhrases {
		for _, w := range list {
			words, kinds, pats = append(words, w), append(kinds, kind), append(pats, nil)
		}
	}
	for _, p := range []*deadlinePattern{&dlWithin, &dlDate} {
		for _, a := range p.anchors {
			words, kinds, pats = append(words, a), append(kinds, -1), append(pats, p)
		}
	}
	return newAutomaton(words), kinds, pats
}()

type deadlineHits struct {
	fixed  [5]string  // the first phrase found per fixed kind
	within [][]string // dlWithin matches
	dates  [][]string // dlDate matches
}

// findDeadlines scans s once for fixed phrases, and runs the two regexps
// only in the windows around their anchors.
func findDeadlines(s string) deadlineHits {
	const margin = 24 // bytes around an anchor: "2026年11月30日之前" fits
	var h deadlineHits
	deadlineWords.scan([]byte(s), func(id int32, at int) {
		p := wordPattern[id]
		if p == nil {
			if k := wordKind[id]; h.fixed[k] == "" {
				h.fixed[k] = s[at : at+deadlineWords.lens[id]]
			}
			return
		}
		lo, hi := max(0, at-margin), min(len(s), at+deadlineWords.lens[id]+margin)
		for lo > 0 && !utf8.RuneStart(s[lo]) {
			lo--
		}
		for hi < len(s) && !utf8.RuneStart(s[hi]) {
			hi++
		}
		if p.needDigit && !strings.ContainsAny(s[lo:hi], "0123456789") {
			return
		}
		if m := p.re.FindStringSubmatch(s[lo:hi]); m != nil {
			if p == &dlWithin {
				h.within = append(h.within, m)
			} else {
				h.dates = append(h.dates, m)
			}
		}
	})
	return h
}

// StatedDeadline finds a deadline the customer wrote in text ("2小时内",
// "今天必须", "明天上午", "周五前", "11月30日前", "before next week",
// "by 11/30") and returns the earliest, for a demand received at received,
// in loc, with the words that said it.
func StatedDeadline(text string, received time.Time, loc *time.Location) (time.Time, string, bool) {
	return statedDeadline(Fold(text), received, loc)
}

// statedDeadline is StatedDeadline on folded text.
func statedDeadline(s string, received time.Time, loc *time.Location) (time.Time, string, bool) {
	now := received.In(loc)
	found := findDeadlines(s)
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
	for _, m := range found.within {
		n, unit := m[1], m[2]
		if n == "" {
			n, unit = m[3], m[4]
		}
		v, _ := strconv.Atoi(n)
		if v <= 0 {
			continue
		}
		d := time.Duration(v) * time.Hour
		if unit == "分钟" || strings.HasPrefix(unit, "minute") {
			d = time.Duration(v) * time.Minute
		}
		consider(received.Add(d), m[0])
	}
	if p := found.fixed[kindToday]; p != "" {
		t := day(now, endOfWork)
		if !t.After(now) {
			t = day(now, 23).Add(59 * time.Minute)
		}
		consider(t, p)
	}
	if p := found.fixed[kindTomorrow]; p != "" {
		consider(day(now.AddDate(0, 0, 1), endOfWork), p)
	}
	if p := found.fixed[kindTomorrowNoon]; p != "" {
		consider(day(now.AddDate(0, 0, 1), 12), p)
	}
	if p := found.fixed[kindThisWeek]; p != "" {
		t := now
		for t.Weekday() != time.Friday {
			t = t.AddDate(0, 0, 1)
		}
		consider(day(t, endOfWork), p)
	}
	if p := found.fixed[kindMonday]; p != "" {
		t := now.AddDate(0, 0, 1)
		for t.Weekday() != time.Monday {
			t = t.AddDate(0, 0, 1)
		}
		consider(day(t, 9), p)
	}
	for _, m := range found.dates {
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
