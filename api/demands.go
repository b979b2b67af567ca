package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/internal/i18n"
	"github.com/demandd/demandd/store"
)

const (
	defaultLimit = 50
	maxLimit     = 500
	maxBody      = 64 << 10
	maxValues    = 50  // values of one list filter: bounds the query's placeholders
	maxSubstring = 200 // runes of customer and text
)

// badRequest is a client error with its status.
type badRequest struct {
	status int
	text   i18n.Text
}

func bad(zh, en string, args ...any) *badRequest {
	return &badRequest{http.StatusBadRequest, i18n.Tf(zh, en, args...)}
}

func unprocessable(zh, en string, args ...any) *badRequest {
	return &badRequest{http.StatusUnprocessableEntity, i18n.Tf(zh, en, args...)}
}

// allowed lists an enumeration's values with their Chinese labels.
func allowed[T interface {
	~string
	Label() string
}](vs ...T) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = string(v) + " (" + v.Label() + ")"
	}
	return strings.Join(parts, ", ")
}

var (
	statuses = allowed(demand.StatusNew, demand.StatusInProgress, demand.StatusDelivered, demand.StatusAccepted,
		demand.StatusClosed, demand.StatusRejected)
	types = allowed(demand.TypeInquiry, demand.TypeComplaint, demand.TypeSuggestion, demand.TypeFeature, demand.TypeService,
		demand.TypeFunctional, demand.TypeExperience, demand.TypeStrategic)
	urgencies  = allowed(demand.UrgencyHigh, demand.UrgencyMedium, demand.UrgencyLow)
	priorities = allowed(demand.P1, demand.P2, demand.P3, demand.P4)
	channels   = allowed(demand.ChannelEmail, demand.ChannelQuestionnaire, demand.ChannelWebhook, demand.ChannelManual)
)

// query reads a request's parameters, refusing unknown ones so that a
// misspelt filter is not silently ignored.
type query struct {
	v url.Values
}

func newQuery(r *http.Request, known ...string) (query, *badRequest) {
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return query{}, bad("查询参数无法解析：%v", "the query string does not parse: %v", err)
	}
	var unknown []string
	for k := range v {
		found := false
		for _, n := range known {
			found = found || k == n
		}
		if !found {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return query{}, bad("未知的查询参数 %s；可用：%s", "unknown query parameter %s; known: %s",
			strings.Join(unknown, ", "), strings.Join(known, ", "))
	}
	return query{v}, nil
}

// one is a single-valued parameter.
func (q query) one(name string) (string, *badRequest) {
	vs := q.v[name]
	if len(vs) > 1 {
		return "", bad("参数 %s 只能给一次", "parameter %s may be given once", name)
	}
	if len(vs) == 0 {
		return "", nil
	}
	return strings.TrimSpace(vs[0]), nil
}

// enumList reads a repeated or comma-separated enumeration parameter,
// each value once.
func enumList[T ~string](q query, name string, parse func(string) (T, error), values string) ([]T, *badRequest) {
	var out []T
	seen := map[T]bool{}
	for _, v := range q.v[name] {
		for _, s := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '，' }) {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			t, err := parse(s)
			if err != nil {
				return nil, bad("参数 %s 的值 %q 无法识别；可用：%s", "parameter %s: unknown value %q; allowed: %s", name, s, values)
			}
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
			if len(out) > maxValues {
				return nil, bad("参数 %s 最多 %d 个值", "parameter %s: at most %d values", name, maxValues)
			}
		}
	}
	return out, nil
}

// timeParam reads since or until: RFC 3339, or a date in loc. A date as
// until includes the whole day.
func (s *server) timeParam(q query, name string) (time.Time, *badRequest) {
	v, e := q.one(name)
	if e != nil || v == "" {
		return time.Time{}, e
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	t, err := time.ParseInLocation("2006-01-02", v, s.loc)
	if err != nil {
		return time.Time{}, bad("参数 %s 的值 %q 应为 RFC 3339 时间（2026-11-24T10:00:00+08:00）或日期（2026-11-24）",
			"parameter %s: %q is neither an RFC 3339 time (2026-11-24T10:00:00+08:00) nor a date (2026-11-24)", name, v)
	}
	if name == "until" {
		t = t.AddDate(0, 0, 1)
	}
	return t, nil
}

// The cursor is opaque to clients: the order and the last id of a page.
func encodeCursor(desc bool, id int64) string {
	dir := "a"
	if desc {
		dir = "d"
	}
	return base64.RawURLEncoding.EncodeToString([]byte(dir + strconv.FormatInt(id, 10)))
}

func decodeCursor(c string) (desc bool, id int64, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) < 2 || (b[0] != 'a' && b[0] != 'd') {
		return false, 0, false
	}
	id, err = strconv.ParseInt(string(b[1:]), 10, 64)
	return b[0] == 'd', id, err == nil && id > 0
}

var listParams = []string{"status", "type", "urgency", "priority", "channel", "source", "since", "until",
	"customer", "text", "limit", "order", "cursor"}

func (s *server) listQuery(r *http.Request) (store.ListQuery, *badRequest) {
	var lq store.ListQuery
	q, e := newQuery(r, listParams...)
	if e != nil {
		return lq, e
	}
	if lq.Status, e = enumList(q, "status", demand.ParseStatus, statuses); e != nil {
		return lq, e
	}
	if lq.Types, e = enumList(q, "type", demand.ParseType, types); e != nil {
		return lq, e
	}
	if lq.Urgency, e = enumList(q, "urgency", demand.ParseUrgency, urgencies); e != nil {
		return lq, e
	}
	if lq.Priority, e = enumList(q, "priority", demand.ParsePriority, priorities); e != nil {
		return lq, e
	}
	if lq.Channel, e = enumList(q, "channel", demand.ParseChannel, channels); e != nil {
		return lq, e
	}
	if lq.Source, e = enumList(q, "source", func(s string) (string, error) { return s, nil }, ""); e != nil {
		return lq, e
	}
	if lq.Since, e = s.timeParam(q, "since"); e != nil {
		return lq, e
	}
	if lq.Until, e = s.timeParam(q, "until"); e != nil {
		return lq, e
	}
	for _, p := range []struct {
		name string
		dst  *string
	}{{"customer", &lq.Customer}, {"text", &lq.Text}} {
		if *p.dst, e = q.one(p.name); e != nil {
			return lq, e
		}
		if utf8.RuneCountInString(*p.dst) > maxSubstring {
			return lq, bad("参数 %s 最长 %d 个字符", "parameter %s: at most %d characters", p.name, maxSubstring)
		}
	}
	lq.Limit = defaultLimit
	limit, e := q.one("limit")
	if e != nil {
		return lq, e
	}
	if limit != "" {
		n, err := strconv.Atoi(limit)
		if err != nil || n < 1 || n > maxLimit {
			return lq, bad("参数 limit 应为 1 到 %d 之间的整数，实际是 %q", "parameter limit: want a whole number from 1 to %d, got %q", maxLimit, limit)
		}
		lq.Limit = n
	}
	order, e := q.one("order")
	if e != nil {
		return lq, e
	}
	switch order {
	case "", "desc":
		lq.Descending = true
	case "asc":
	default:
		return lq, bad("参数 order 应为 desc（最新在前，默认）或 asc，实际是 %q", "parameter order: want desc (newest first, the default) or asc, got %q", order)
	}
	cursor, e := q.one("cursor")
	if e != nil {
		return lq, e
	}
	if cursor != "" {
		desc, id, ok := decodeCursor(cursor)
		if !ok {
			return lq, bad("参数 cursor 无效：请使用上一页返回的 next_cursor", "parameter cursor: not a cursor; pass the next_cursor of the previous page")
		}
		if order != "" && desc != lq.Descending {
			return lq, bad("参数 cursor 属于另一种排序（order）", "parameter cursor: it belongs to the other order")
		}
		lq.Descending, lq.After = desc, id
	}
	return lq, nil
}

func (s *server) listDemands(w http.ResponseWriter, r *http.Request, _ *Token) {
	lq, e := s.listQuery(r)
	if e != nil {
		writeError(w, e.status, e.text)
		return
	}
	rows, more, err := s.st.ListDemands(r.Context(), lq)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	out := listJSON{Demands: make([]demandJSON, len(rows))}
	for i, l := range rows {
		out.Demands[i] = toJSON(l)
	}
	if more {
		c := encodeCursor(lq.Descending, rows[len(rows)-1].Record.ID)
		out.NextCursor = &c
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *server) getDemand(w http.ResponseWriter, r *http.Request, _ *Token) {
	if _, e := newQuery(r); e != nil {
		writeError(w, e.status, e.text)
		return
	}
	s.writeDetail(w, r, r.PathValue("code"))
}

// writeDetail answers with the demand as it is now, and its ETag.
func (s *server) writeDetail(w http.ResponseWriter, r *http.Request, code string) {
	d, err := s.st.DemandDetail(r.Context(), code)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, i18n.Tf("没有编号为 %s 的需求", "no demand with code %s", code))
		return
	}
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	w.Header().Set("ETag", etag(d.Record.Revision))
	writeJSON(w, http.StatusOK, detailToJSON(d))
}

// etag is the record's version: its revision, which moves on every change.
func etag(rev int64) string { return `"r` + strconv.FormatInt(rev, 10) + `"` }

func parseETag(s string) (int64, bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "W/") // a proxy may have weakened it
	if len(s) < 4 || s[0] != '"' || s[1] != 'r' || s[len(s)-1] != '"' {
		return 0, false
	}
	n, err := strconv.ParseInt(s[2:len(s)-1], 10, 64)
	return n, err == nil && n > 0
}

// patchFields are the fields PATCH takes.
var patchFields = []string{"status", "response_plan", "department", "due_at", "feedback_result", "satisfaction", "type", "urgency"}

func (s *server) patchDemand(w http.ResponseWriter, r *http.Request, tok *Token) {
	code := r.PathValue("code")
	p, e := readPatch(w, r)
	if e != nil {
		writeError(w, e.status, e.text)
		return
	}
	p.By = "api:" + tok.Name
	if m := r.Header.Get("If-Match"); m != "" && strings.TrimSpace(m) != "*" {
		rev, ok := parseETag(m)
		if !ok {
			writeError(w, http.StatusBadRequest, i18n.T("If-Match 应为此前响应中的 ETag", "If-Match: want an ETag from an earlier answer"))
			return
		}
		p.IfRevision = &rev
	}
	_, changed, err := s.st.UpdateProgress(r.Context(), code, p)
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, i18n.Tf("没有编号为 %s 的需求", "no demand with code %s", code))
		return
	case errors.Is(err, store.ErrConflict):
		writeError(w, http.StatusConflict, i18n.Tf("需求 %s 在读取后已被修改：请重新读取后再改", "demand %s changed since it was read: read it again and retry", code))
		return
	case errors.Is(err, store.ErrInvalid):
		writeError(w, http.StatusUnprocessableEntity, i18n.Tf("值无效：%v", "invalid value: %v", err))
		return
	case err != nil:
		s.internalError(w, r, err)
		return
	}
	if changed {
		s.log.InfoContext(r.Context(), "demand updated through the API", "code", code, "token", tok.Name)
	}
	s.writeDetail(w, r, code)
}

// readPatch reads and checks a PATCH body into a Progress.
func readPatch(w http.ResponseWriter, r *http.Request) (store.Progress, *badRequest) {
	var p store.Progress
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	// merge-patch+json: the body's semantics are RFC 7396's, minus null.
	if err != nil || (mt != "application/json" && mt != "application/merge-patch+json") {
		return p, &badRequest{http.StatusUnsupportedMediaType,
			i18n.T("请求体应为 JSON：Content-Type: application/json", "the body must be JSON: Content-Type: application/json")}
	}
	tooBig := &badRequest{http.StatusRequestEntityTooLarge, i18n.Tf("请求体超过 %d KiB", "the body is over %d KiB", maxBody>>10)}
	if r.ContentLength > maxBody {
		return p, tooBig
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return p, tooBig
	}
	if err != nil {
		return p, bad("读取请求体失败：%v", "reading the body: %v", err)
	}
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&fields); err != nil || fields == nil || dec.More() {
		return p, bad("请求体应为一个 JSON 对象，例如 {\"status\": \"处理中\"}", "the body must be one JSON object, e.g. {\"status\": \"in_progress\"}")
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		known := false
		for _, f := range patchFields {
			known = known || k == f
		}
		if !known {
			return p, bad("未知字段 %q；可修改：%s", "unknown field %q; fields: %s", k, strings.Join(patchFields, ", "))
		}
	}
	if len(keys) == 0 {
		return p, bad("没有要修改的字段；可修改：%s", "nothing to change; fields: %s", strings.Join(patchFields, ", "))
	}
	text := func(k string) (string, *badRequest) {
		var s *string
		if err := json.Unmarshal(fields[k], &s); err != nil || s == nil {
			return "", unprocessable("字段 %s 应为字符串", "field %s must be a string", k)
		}
		return *s, nil
	}
	for _, k := range keys {
		v, e := "", (*badRequest)(nil)
		if k != "satisfaction" {
			if v, e = text(k); e != nil {
				return p, e
			}
		}
		switch k {
		case "status":
			st, err := demand.ParseStatus(v)
			if err != nil {
				return p, unprocessable("状态 %q 无法识别；可用：%s", "unknown status %q; allowed: %s", v, statuses)
			}
			p.Status = &st
		case "type":
			t, err := demand.ParseType(v)
			if err != nil {
				return p, unprocessable("需求类型 %q 无法识别；可用：%s", "unknown type %q; allowed: %s", v, types)
			}
			p.Type = &t
		case "urgency":
			u, err := demand.ParseUrgency(v)
			if err != nil {
				return p, unprocessable("紧急程度 %q 无法识别；可用：%s", "unknown urgency %q; allowed: %s", v, urgencies)
			}
			p.Urgency = &u
		case "due_at":
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return p, unprocessable("截止时间 %q 应为 RFC 3339 时间，例如 2026-11-30T18:00:00+08:00", "due_at %q: want an RFC 3339 time such as 2026-11-30T18:00:00+08:00", v)
			}
			p.DueAt = &t
		case "response_plan":
			p.Plan = &v
		case "feedback_result":
			p.Feedback = &v
		case "department":
			p.Department = &v
		case "satisfaction":
			var n *int
			if err := json.Unmarshal(fields[k], &n); err != nil || n == nil || *n < 1 || *n > 5 {
				return p, unprocessable("满意度应为 1 到 5 的整数，实际是 %s", "satisfaction: want a whole number from 1 to 5, got %s", fields[k])
			}
			p.Satisfaction = n
		}
	}
	return p, nil
}

func (s *server) stats(w http.ResponseWriter, r *http.Request, _ *Token) {
	q, e := newQuery(r, "since", "until")
	var since, until time.Time
	if e == nil {
		since, e = s.timeParam(q, "since")
	}
	if e == nil {
		until, e = s.timeParam(q, "until")
	}
	if e != nil {
		writeError(w, e.status, e.text)
		return
	}
	st, err := s.st.Stats(r.Context(), since, until)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, statsJSON{Total: st.Total, Duplicates: st.Duplicates, ByType: st.ByType,
		ByUrgency: st.ByUrgency, ByPriority: st.ByPriority, ByStatus: st.ByStatus, ByChannel: st.ByChannel})
}
