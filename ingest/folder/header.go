package folder

import (
	"io"
	"regexp"
	"strings"
	"unicode"

	"github.com/demandd/demandd/ingest"
)

// Header rows.
//
// Most exports have one header row: the first row that is not blank.
// Qualtrics writes more, in two layouts:
//
//	current: StartDate,EndDate,…,ResponseId,…,Q1,Q2        export tags
//	         Start Date,End Date,…,<question texts>         labels (in the account's language)
//	         {"ImportId":"startDate"},…,{"ImportId":"QID2_TEXT"}
//	legacy:  V1,…,V10,Q1,Q2,LocationLatitude,…              tags
//	         ResponseID,ResponseSet,…,StartDate,EndDate,…,<question texts>
//
// The rows under the first are header rows, not answers: they are read into
// the rows' Labels and ImportIDs, never emitted. Each is recognised by what
// it holds, not by the platform's name, so that an export opened and saved
// again in Excel, or with other columns chosen, is still recognised.

// sampleRows is how many answer rows are read ahead to find the columns
// that hold free text (ingest.Row.FreeText).
const sampleRows = 200

// aheadRow is a row read ahead of the batches; err is sticky (io.EOF or a
// read error, returned again on every later call).
type aheadRow struct {
	cells []string
	num   int
	err   error
}

// readHeader reads the header row, the header rows under it if any, and the
// first answer rows, which stay queued for next.
func (r *rowBatcher) readHeader() error {
	for {
		cells, num, err := r.rows.Next()
		if err == io.EOF {
			return fileErrorf("文件中没有任何行：请重新导出问卷结果", "the file has no rows; export the survey results again")
		}
		if err != nil {
			return err
		}
		if cells = trimRow(cells); len(cells) > 0 {
			r.header, r.headerEnd = cells, num
			break
		}
	}
	// Read ahead: the two rows that may be header rows, and a sample of
	// answers.
	for len(r.ahead) < sampleRows+2 {
		cells, num, err := r.rows.Next()
		r.ahead = append(r.ahead, aheadRow{cells: cells, num: num, err: err})
		if err != nil {
			break
		}
	}
	second, third := r.aheadCells(0), r.aheadCells(1)
	n := 0
	switch {
	case qualtricsMeta(second):
		r.importIDs, n = second, 1
	case qualtricsMeta(third) && len(second) > 0:
		r.labels, r.importIDs, n = second, third, 2
	case labelRow(r.header, second):
		r.labels, n = second, 1
	}
	if n > 0 {
		r.headerEnd = r.ahead[n-1].num
		r.ahead = r.ahead[n:]
	}
	var sample [][]string
	for _, a := range r.ahead {
		if a.err == nil {
			if cells := trimRow(a.cells); len(cells) > 0 && !qualtricsMeta(cells) {
				sample = append(sample, cells)
			}
		}
	}
	r.freeText = freeTextWidths(sample)
	return nil
}

// aheadCells is the i-th row read ahead, trimmed; nil past the end.
func (r *rowBatcher) aheadCells(i int) []string {
	if i >= len(r.ahead) || r.ahead[i].err != nil {
		return nil
	}
	return trimRow(r.ahead[i].cells)
}

// next returns the rows read ahead, then reads on.
func (r *rowBatcher) next() ([]string, int, error) {
	if len(r.ahead) > 0 {
		a := r.ahead[0]
		if a.err != nil {
			return nil, 0, a.err
		}
		r.ahead = r.ahead[1:]
		return a.cells, a.num, nil
	}
	return r.rows.Next()
}

// row is the item body of one answer row.
func (r *rowBatcher) row(num int, cells []string) *ingest.Row {
	return &ingest.Row{File: r.file, SHA256: r.sha, Sheet: r.rows.Sheet(), Number: num, Header: r.header,
		Labels: r.labels, ImportIDs: r.importIDs, FreeText: r.freeText, Cells: cells, Encoding: rowEncoding(r.rows)}
}

// qualtricsMeta reports Qualtrics' header row of {"ImportId":…} JSON, one
// per column (empty cells aside); false for a blank row.
func qualtricsMeta(cells []string) bool {
	seen := false
	for _, c := range cells {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		if !strings.HasPrefix(c, "{") || !strings.Contains(c, `"ImportId"`) {
			return false
		}
		seen = true
	}
	return seen
}

var (
	// exportTag is a Qualtrics export tag of the legacy layout (V1…V10).
	exportTag = regexp.MustCompile(`^V\d+$`)
	// qualtricsColumns are the names of Qualtrics' own columns, as the
	// legacy layout writes them in its label row (folded: lower case,
	// no spaces).
	qualtricsColumns = map[string]bool{"responseid": true, "responseset": true, "name": true,
		"externaldatareference": true, "emailaddress": true, "ipaddress": true, "status": true,
		"startdate": true, "enddate": true, "finished": true}
	// dateTags are Qualtrics' date columns in the current layout.
	dateTags = map[string]bool{"startdate": true, "enddate": true, "recordeddate": true}
)

func fold(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), ""))
}

// labelRow reports whether second, the row under header, names the columns
// rather than answering them: under legacy tags (V1…) it names Qualtrics'
// own columns (ResponseID, StartDate …), or under the date columns
// (StartDate, EndDate, RecordedDate) it holds words where answers hold
// dates. Two such columns are needed.
func labelRow(header, second []string) bool {
	named := 0
	for i, h := range header {
		if i >= len(second) {
			break
		}
		l := strings.TrimSpace(second[i])
		switch {
		case exportTag.MatchString(strings.TrimSpace(h)) && qualtricsColumns[fold(l)]:
			named++
		case dateTags[fold(h)] && l != "" && !strings.ContainsAny(l, "0123456789"):
			named++
		}
	}
	return named >= 2
}

// nonAnswers are what respondents write for "nothing": not free text.
var nonAnswers = map[string]bool{"无": true, "没有": true, "暂无": true, "无。": true, "没": true, "n/a": true,
	"na": true, "none": true, "no": true, "-": true, "/": true, "(跳过)": true, "（跳过）": true, "(空)": true,
	"（空）": true, "null": true}

// freeTextWidths finds the columns of sample that hold free text: per
// column, the mean width (a wide character counts two) of its answers, when
// most answers read as free text and they are not a few choices repeated;
// 0 otherwise. Nil when no column qualifies.
func freeTextWidths(sample [][]string) []int {
	width := 0
	for _, row := range sample {
		width = max(width, len(row))
	}
	out := make([]int, width)
	any := false
	for col := range width {
		answers, prose, total := 0, 0, 0
		distinct := map[string]bool{}
		for _, row := range sample {
			if col >= len(row) {
				continue
			}
			v := strings.TrimSpace(row[col])
			if v == "" || nonAnswers[strings.ToLower(v)] {
				continue
			}
			answers++
			if w, ok := proseWidth(v); ok {
				prose++
				total += w
				distinct[v] = true
			}
		}
		// Choices repeat: a handful of answers over many rows.
		choices := prose >= 4 && len(distinct) <= max(3, prose/4)
		if prose == 0 || prose*2 < answers || choices {
			continue
		}
		out[col] = max(total/prose, 1)
		any = true
	}
	if !any {
		return nil
	}
	return out
}

// notProse is a number, date, time, duration or amount (2026年11月23日,
// 136秒, 3分), an e-mail address or a link.
var notProse = regexp.MustCompile(`^[\d\s.,:;/\-+%()（）：年月日号时点分秒元个次]*$|^\S+@\S+$|^[a-z]+://\S*$`)

// proseWidth reports whether v reads as written text — two or more words,
// or two or more Han characters; not a number, date, e-mail address, link
// or a 问卷星 multi-select (a┋b) — and its width.
func proseWidth(v string) (int, bool) {
	if strings.ContainsAny(v, "┋〖") || notProse.MatchString(strings.ToLower(v)) {
		return 0, false
	}
	han, width := 0, 0
	for _, r := range v {
		switch {
		case unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul):
			han++
			width += 2
		case r >= 0x3000 && r <= 0x303F, r >= 0xFF01 && r <= 0xFF60: // CJK and full-width punctuation
			width += 2
		default:
			width++
		}
	}
	words := 0
	for _, f := range strings.Fields(v) {
		if strings.IndexFunc(f, unicode.IsLetter) >= 0 {
			words++
		}
	}
	return width, han >= 2 || words >= 2
}
