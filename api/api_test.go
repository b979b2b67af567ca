package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/demandd/demandd/api"
	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/internal/testdb"
	"github.com/demandd/demandd/store"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

const (
	readSecret  = "r-secret-0123456789"
	writeSecret = "w-secret-0123456789"
)

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return l
}()

// env is a handler over a fresh, migrated store.
type env struct {
	st *store.Store
	h  http.Handler
}

// backends runs test on SQLite and on PostgreSQL (a schema of its own).
func backends(t *testing.T, test func(t *testing.T, e *env)) {
	for _, b := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "d.db") }},
		{"postgres", func(t *testing.T) string { return testdb.Postgres(t) }},
	} {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			st, err := store.Open(ctx, b.url(t), store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			if _, err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			h, err := api.New(st, api.Options{Location: shanghai, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Tokens: []api.Token{
				{Name: "dash", Scope: api.ScopeRead, Secret: readSecret},
				{Name: "ops", Scope: api.ScopeWrite, Secret: writeSecret},
			}})
			if err != nil {
				t.Fatal(err)
			}
			test(t, &env{st: st, h: h})
		})
	}
}

// answer is a response, its body decoded when it is JSON.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("answer %d %s: %v", a.status, a.body, err)
	}
}

// do sends a request with the secret as bearer token ("" for none).
func (e *env) do(t *testing.T, method, target, secret, body string, header ...string) answer {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, r)
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, req)
	return answer{w.Code, w.Header(), w.Body.Bytes()}
}

type rec struct {
	key, text, title, email, customer, contact, source string
	channel                                            demand.Channel
	typ                                                demand.Type
	urgency                                            demand.Urgency
	priority                                           demand.Priority
	status                                             demand.Status
	received                                           time.Time
	fingerprint                                        string
}

func (r rec) entry() store.Entry {
	d := &demand.Record{
		Customer:    demand.Customer{Name: r.customer, Contact: r.contact, Email: r.email},
		Description: demand.Description{Title: r.title, Text: r.text, Language: "zh"},
		Source:      demand.Source{Channel: r.channel, Name: r.source, Origin: demand.OriginRaised, ReceivedAt: r.received},
		Urgency:     r.urgency, Type: r.typ, Importance: demand.ImportanceMedium, Priority: r.priority, Status: r.status,
		DueAt: r.received.Add(24 * time.Hour), SLA: "24小时", Fingerprint: r.fingerprint,
		Reasons: []demand.Reason{{Rule: "keywords", Attribute: "type", Value: string(r.typ), Matched: []string{"词"}}},
	}
	return store.Entry{
		Raw: store.RawItem{Channel: string(r.channel), Source: r.source, ExternalKey: r.key, Ref: "<" + r.key + "@x>",
			SHA256: "sha-" + r.key, ContentType: "message/rfc822", Body: []byte(r.text), Origin: "raised",
			Status: store.RawOK, ReceivedAt: r.received},
		Record: d,
	}
}

func day(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }

func batchOpts() store.BatchOptions {
	return store.BatchOptions{CodePrefix: "DEM", Location: shanghai, Now: day(25, 12)}
}

// seed stores five demands, B a duplicate of A, and a reply to A, and
// returns the codes by letter.
func seed(t *testing.T, e *env) map[string]string {
	t.Helper()
	ctx := context.Background()
	huaxin := rec{customer: "华信科技", contact: "张伟", email: "zw@huaxin.cn", channel: demand.ChannelEmail, source: "support",
		typ: demand.TypeComplaint, urgency: demand.UrgencyHigh, priority: demand.P1, text: "系统宕机，无法下单", fingerprint: "fp-a"}
	a, b := huaxin, huaxin
	a.key, a.received = "a", day(20, 2)
	b.key, b.received = "b", day(21, 2)
	recs := []rec{a, b,
		{key: "c", customer: "Acme", contact: "Bob", email: "bob@acme.com", channel: demand.ChannelQuestionnaire, source: "forms",
			typ: demand.TypeInquiry, urgency: demand.UrgencyLow, priority: demand.P4, title: "Export question", text: "How do I get a report?", received: day(22, 2)},
		// 04:00 on the 24th in Shanghai.
		{key: "d", customer: "远大集团", channel: demand.ChannelWebhook, source: "jira", typ: demand.TypeFeature,
			urgency: demand.UrgencyMedium, priority: demand.P2, text: "希望增加对接接口", received: day(23, 20)},
		{key: "e", customer: "个人", channel: demand.ChannelManual, source: "desk", typ: demand.TypeSuggestion,
			urgency: demand.UrgencyLow, priority: demand.P4, status: demand.StatusClosed, text: "界面字体太小", received: day(25, 2)},
	}
	var es []store.Entry
	for _, r := range recs {
		es = append(es, r.entry())
	}
	res, err := e.st.SaveBatch(ctx, es, nil, batchOpts())
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]string{}
	for i, c := range res.Codes {
		codes[string(rune('A'+i))] = c
	}
	reply := rec{key: "f", customer: "华信科技", email: "zw@huaxin.cn", channel: demand.ChannelEmail, source: "support",
		title: "Re: 宕机", text: "还是无法下单", received: day(21, 6)}.entry()
	reply.ThreadCode = codes["A"]
	if r, err := e.st.SaveBatch(ctx, []store.Entry{reply}, nil, batchOpts()); err != nil || r.FollowUp != 1 {
		t.Fatalf("reply: %+v %v", r, err)
	}
	return codes
}

type demandOut struct {
	Code         string  `json:"code"`
	Type         string  `json:"type"`
	TypeLabel    string  `json:"type_label"`
	Urgency      string  `json:"urgency"`
	Priority     string  `json:"priority"`
	Status       string  `json:"status"`
	Department   string  `json:"department"`
	ResponsePlan string  `json:"response_plan"`
	Feedback     string  `json:"feedback_result"`
	Satisfaction *int    `json:"satisfaction"`
	DueAt        *string `json:"due_at"`
	DuplicateOf  *string `json:"duplicate_of"`
	ReceivedAt   string  `json:"received_at"`
	Confirmed    *struct {
		Type, Urgency *string
		By            string
	} `json:"confirmed"`
	Reasons []demand.Reason `json:"reasons"`
	History []struct {
		At     string          `json:"at"`
		Kind   string          `json:"kind"`
		Detail json.RawMessage `json:"detail"`
	} `json:"history"`
	FollowUps []struct {
		At, Text, Subject string
		RawItemID         int64 `json:"raw_item_id"`
	} `json:"follow_ups"`
	Duplicates *struct {
		Canonical *string
		Codes     []string
	} `json:"duplicates"`
	RawItems []struct {
		ID                                 int64
		Role, Channel, Ref, SHA256, Status string
		ContentType                        string `json:"content_type"`
		ReceivedAt                         string `json:"received_at"`
	} `json:"raw_items"`
}

type listOut struct {
	Demands    []demandOut `json:"demands"`
	NextCursor *string     `json:"next_cursor"`
}

func TestAuth(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		codes := seed(t, e)
		one := "/api/v1/demands/" + codes["A"]
		for _, tc := range []struct {
			name, method, target, auth, body string
			want                             int
		}{
			{"no token", "GET", "/api/v1/demands", "", "", 401},
			{"unknown token", "GET", "/api/v1/demands", "Bearer nope", "", 401},
			{"token as basic", "GET", "/api/v1/demands", "Basic " + readSecret, "", 401},
			{"prefix of a token", "GET", "/api/v1/demands", "Bearer " + readSecret[:5], "", 401},
			{"read lists", "GET", "/api/v1/demands", "Bearer " + readSecret, "", 200},
			{"scheme any case", "GET", "/api/v1/stats", "bearer " + readSecret, "", 200},
			{"read gets one", "GET", one, "Bearer " + readSecret, "", 200},
			{"read may not patch", "PATCH", one, "Bearer " + readSecret, `{"status":"处理中"}`, 403},
			{"no token may not patch", "PATCH", one, "", `{"status":"处理中"}`, 401},
			{"write patches", "PATCH", one, "Bearer " + writeSecret, `{"status":"处理中"}`, 200},
			{"write reads", "GET", one, "Bearer " + writeSecret, "", 200},
			{"the description is public", "GET", "/api/v1/openapi.json", "", "", 200},
		} {
			t.Run(tc.name, func(t *testing.T) {
				a := e.do(t, tc.method, tc.target, "", tc.body, "Authorization", tc.auth)
				if a.status != tc.want {
					t.Fatalf("%s %s: %d %s, want %d", tc.method, tc.target, a.status, a.body, tc.want)
				}
				if a.status == 401 && !strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("401 without WWW-Authenticate: Bearer: %v", a.header)
				}
				if a.status >= 400 {
					var body struct {
						Error   string `json:"error"`
						ErrorZH string `json:"error_zh"`
					}
					if a.json(t, &body); body.Error == "" || body.ErrorZH == "" {
						t.Errorf("error body %s", a.body)
					}
				}
			})
		}
	})
}

func codesOf(l listOut, letters map[string]string) string {
	var out []string
	for _, d := range l.Demands {
		for k, v := range letters {
			if v == d.Code {
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return strings.Join(out, "")
}

func TestListFilters(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		codes := seed(t, e)
		for _, tc := range []struct{ query, want string }{
			{"", "ABCDE"},
			{"status=new", "ABCD"},
			{"status=已关闭", "E"},
			{"status=new,closed", "ABCDE"},
			{"status=new&status=closed", "ABCDE"},
			{"status=待处理，已关闭", "ABCDE"},
			{"type=投诉", "AB"},
			{"type=inquiry,功能", "CD"},
			{"urgency=高", "AB"},
			{"urgency=low", "CE"},
			{"priority=P4", "CE"},
			{"priority=重要不紧急", "D"},
			{"channel=邮件", "AB"},
			{"channel=webhook", "D"},
			{"source=jira", "D"},
			{"source=jira,desk", "DE"},
			{"since=2026-11-24", "DE"}, // D is 04:00 on the 24th in Shanghai
			{"until=2026-11-23", "ABC"},
			{"since=2026-11-23T00:00:00Z&until=2026-11-24T00:00:00Z", "D"},
			{"since=2026-11-24T04:00:00%2B08:00", "DE"},
			{"customer=HUAXIN", "AB"},
			{"customer=张伟", "AB"},
			{"customer=acme", "C"},
			{"text=EXPORT", "C"},
			{"text=对接", "D"},
			{"text=100%25", ""},
			{"type=complaint&customer=huaxin&urgency=high", "AB"},
			{"limit=2", "DE"}, // newest first
			{"limit=2&order=asc", "AB"},
		} {
			t.Run(tc.query, func(t *testing.T) {
				a := e.do(t, "GET", "/api/v1/demands?"+tc.query, readSecret, "")
				if a.status != 200 {
					t.Fatalf("%d %s", a.status, a.body)
				}
				var l listOut
				a.json(t, &l)
				if got := codesOf(l, codes); got != tc.want {
					t.Errorf("got %q, want %q", got, tc.want)
				}
			})
		}
	})
}

func TestPagination(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		add := func(from, n int) {
			var es []store.Entry
			for i := from; i < from+n; i++ {
				es = append(es, rec{key: fmt.Sprint("p", i), customer: "c", channel: demand.ChannelManual, source: "desk",
					typ: demand.TypeInquiry, urgency: demand.UrgencyLow, priority: demand.P4, text: fmt.Sprint("需求", i),
					received: day(1, 0).Add(time.Duration(i) * time.Minute)}.entry())
			}
			if _, err := e.st.SaveBatch(ctx, es, nil, batchOpts()); err != nil {
				t.Fatal(err)
			}
		}
		add(0, 23)
		for _, order := range []string{"desc", "asc"} {
			t.Run(order, func(t *testing.T) {
				seen := map[string]int{}
				target := "/api/v1/demands?limit=5&type=inquiry&order=" + order
				pages := 0
				for {
					a := e.do(t, "GET", target, readSecret, "")
					if a.status != 200 {
						t.Fatalf("%s: %d %s", target, a.status, a.body)
					}
					var l listOut
					a.json(t, &l)
					pages++
					for _, d := range l.Demands {
						seen[d.Code]++
					}
					if pages == 1 { // rows arriving meanwhile neither repeat nor shift a page
						add(100*len(order), 3)
					}
					if l.NextCursor == nil {
						break
					}
					target = "/api/v1/demands?limit=5&type=inquiry&cursor=" + *l.NextCursor
				}
				for code, n := range seen {
					if n != 1 {
						t.Errorf("%s listed %d times", code, n)
					}
				}
				// The first 23 all came; in ascending order the new ones too.
				want := 23
				if order == "asc" {
					want = 23 + 3 + 3 // the desc run's three and this run's three
				}
				if len(seen) != want {
					t.Errorf("%d demands over %d pages, want %d", len(seen), pages, want)
				}
			})
		}
	})
}

func TestDetail(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		codes := seed(t, e)
		a := e.do(t, "GET", "/api/v1/demands/"+codes["A"], readSecret, "")
		if a.status != 200 || a.header.Get("ETag") == "" {
			t.Fatalf("%d %v %s", a.status, a.header, a.body)
		}
		var d demandOut
		a.json(t, &d)
		if d.Code != codes["A"] || d.Type != "complaint" || d.TypeLabel != "投诉" || d.ReceivedAt != "2026-11-20T02:00:00Z" {
			t.Errorf("record %+v", d)
		}
		if len(d.History) != 1 || d.History[0].Kind != "follow_up" {
			t.Errorf("history %+v", d.History)
		}
		if len(d.FollowUps) != 1 || d.FollowUps[0].Text != "还是无法下单" || d.FollowUps[0].At != "2026-11-21T06:00:00Z" {
			t.Errorf("follow-ups %+v", d.FollowUps)
		}
		if d.Duplicates == nil || d.Duplicates.Canonical != nil || !slices.Equal(d.Duplicates.Codes, []string{codes["B"]}) {
			t.Errorf("duplicates %+v", d.Duplicates)
		}
		if len(d.RawItems) != 2 || d.RawItems[0].Role != "origin" || d.RawItems[0].SHA256 != "sha-a" || d.RawItems[0].Ref != "<a@x>" ||
			d.RawItems[0].ContentType != "message/rfc822" || d.RawItems[0].Status != "ok" || d.RawItems[1].Role != "follow_up" ||
			d.RawItems[1].ID != d.FollowUps[0].RawItemID {
			t.Errorf("raw items %+v", d.RawItems)
		}
		if bytes.Contains(a.body, []byte(`"body"`)) {
			t.Errorf("raw bodies leaked: %s", a.body)
		}
		var b demandOut
		e.do(t, "GET", "/api/v1/demands/"+codes["B"], readSecret, "").json(t, &b)
		if b.DuplicateOf == nil || *b.DuplicateOf != codes["A"] || b.Duplicates.Canonical == nil || *b.Duplicates.Canonical != codes["A"] {
			t.Errorf("B's canonical: %+v %+v", b.DuplicateOf, b.Duplicates)
		}
		var c demandOut
		e.do(t, "GET", "/api/v1/demands/"+codes["C"], readSecret, "").json(t, &c)
		if c.History == nil || len(c.History) != 0 || c.FollowUps == nil || c.Satisfaction != nil || c.Confirmed != nil {
			t.Errorf("C: empty lists must be [], unset values null: %s", e.do(t, "GET", "/api/v1/demands/"+codes["C"], readSecret, "").body)
		}
	})
}

func TestPatch(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		codes := seed(t, e)
		target := "/api/v1/demands/" + codes["C"]
		for _, tc := range []struct {
			name, body string
			check      func(d demandOut) bool
		}{
			{"status label", `{"status":"处理中"}`, func(d demandOut) bool { return d.Status == "in_progress" }},
			{"response plan", `{"response_plan":"下周上线批量导出"}`, func(d demandOut) bool { return d.ResponsePlan == "下周上线批量导出" }},
			{"department", `{"department":"交付部"}`, func(d demandOut) bool { return d.Department == "交付部" }},
			{"due_at", `{"due_at":"2026-12-01T18:00:00+08:00"}`, func(d demandOut) bool { return d.DueAt != nil && *d.DueAt == "2026-12-01T10:00:00Z" }},
			{"feedback", `{"feedback_result":"客户满意"}`, func(d demandOut) bool { return d.Feedback == "客户满意" }},
			{"satisfaction", `{"satisfaction":5}`, func(d demandOut) bool { return d.Satisfaction != nil && *d.Satisfaction == 5 }},
			{"type", `{"type":"投诉"}`, func(d demandOut) bool {
				return d.Type == "complaint" && d.Confirmed != nil && *d.Confirmed.Type == "complaint" && d.Confirmed.By == "api:ops"
			}},
			{"urgency moves the priority", `{"urgency":"high"}`, func(d demandOut) bool {
				return d.Urgency == "high" && d.Priority == "P1" && *d.Confirmed.Urgency == "high"
			}},
			{"several at once", `{"status":"delivered","satisfaction":3}`, func(d demandOut) bool {
				return d.Status == "delivered" && *d.Satisfaction == 3
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var before demandOut
				e.do(t, "GET", target, readSecret, "").json(t, &before)
				a := e.do(t, "PATCH", target, writeSecret, tc.body)
				if a.status != 200 {
					t.Fatalf("%d %s", a.status, a.body)
				}
				var d demandOut
				a.json(t, &d)
				if !tc.check(d) {
					t.Errorf("after %s: %s", tc.body, a.body)
				}
				if len(d.History) != len(before.History)+1 {
					t.Fatalf("history %d entries, want %d", len(d.History), len(before.History)+1)
				}
				var h struct {
					By       string
					Old, New map[string]any
				}
				if err := json.Unmarshal(d.History[len(d.History)-1].Detail, &h); err != nil || h.By != "api:ops" || h.Old == nil || h.New == nil {
					t.Errorf("history detail %s (%v): want old, new and by the token", d.History[len(d.History)-1].Detail, err)
				}
				// The same again changes nothing and adds no history.
				a = e.do(t, "PATCH", target, writeSecret, tc.body)
				var again demandOut
				if a.json(t, &again); a.status != 200 || len(again.History) != len(d.History) {
					t.Errorf("unchanged PATCH: %d, %d history entries, want %d", a.status, len(again.History), len(d.History))
				}
			})
		}
	})
}

func TestConfirmedLabelSurvivesReclassify(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		codes := seed(t, e)
		target := "/api/v1/demands/" + codes["D"]
		if a := e.do(t, "PATCH", target, writeSecret, `{"type":"service","urgency":"低"}`); a.status != 200 {
			t.Fatalf("%d %s", a.status, a.body)
		}
		// A replay of the rules says feature/high again.
		old, err := e.st.Demand(ctx, codes["D"])
		if err != nil {
			t.Fatal(err)
		}
		cp := *old
		cp.Type, cp.Urgency, cp.Priority = demand.TypeFeature, demand.UrgencyHigh, demand.P1
		cp.Reasons = []demand.Reason{{Rule: "keywords", Attribute: "type", Value: "feature"}}
		if err := e.st.Reclassify(ctx, []store.Change{{Old: old, New: &cp}}); err != nil {
			t.Fatal(err)
		}
		var d demandOut
		e.do(t, "GET", target, readSecret, "").json(t, &d)
		if d.Type != "service" || d.Urgency != "low" || d.Priority != "P2" {
			t.Errorf("after the replay: %s %s %s, want the confirmed service/low in P2", d.Type, d.Urgency, d.Priority)
		}
		rules := false
		for _, r := range d.Reasons {
			rules = rules || (r.Rule == "keywords" && r.Value == "feature")
		}
		if !rules {
			t.Errorf("the rules' answer is not among the reasons: %+v", d.Reasons)
		}
		var first struct{ Old struct{ Type string } }
		if len(d.History) == 0 || d.History[0].Kind != "progress" || json.Unmarshal(d.History[0].Detail, &first) != nil || first.Old.Type != "feature" {
			t.Errorf("history must keep the rules' earlier answer: %s", d.History)
		}
	})
}

func TestErrors(t *testing.T) {
	var sources []string
	for i := 0; i < 51; i++ {
		sources = append(sources, fmt.Sprint("s", i))
	}
	manySources := strings.Join(sources, ",") + ",s0" // a value twice counts once
	backends(t, func(t *testing.T, e *env) {
		codes := seed(t, e)
		one := "/api/v1/demands/" + codes["A"]
		var etag string
		if a := e.do(t, "GET", one, readSecret, ""); a.status == 200 {
			etag = a.header.Get("ETag")
		}
		if a := e.do(t, "PATCH", one, writeSecret, `{"status":"处理中"}`); a.status != 200 {
			t.Fatalf("%d %s", a.status, a.body)
		}
		for _, tc := range []struct {
			name, method, target, body string
			header                     []string
			want                       int
			says                       []string
		}{
			{"bad status filter", "GET", "/api/v1/demands?status=done-ish", "", nil, 400, []string{"status", "in_progress (处理中)"}},
			{"bad type filter", "GET", "/api/v1/demands?type=x", "", nil, 400, []string{"type", "inquiry (咨询)"}},
			{"bad urgency filter", "GET", "/api/v1/demands?urgency=x", "", nil, 400, []string{"urgency", "high (高)"}},
			{"bad priority filter", "GET", "/api/v1/demands?priority=P9", "", nil, 400, []string{"priority", "P1"}},
			{"bad channel filter", "GET", "/api/v1/demands?channel=fax", "", nil, 400, []string{"channel", "email"}},
			{"bad since", "GET", "/api/v1/demands?since=yesterday", "", nil, 400, []string{"since", "RFC 3339"}},
			{"bad until", "GET", "/api/v1/stats?until=11/24", "", nil, 400, []string{"until"}},
			{"limit too big", "GET", "/api/v1/demands?limit=501", "", nil, 400, []string{"limit", "500"}},
			{"limit zero", "GET", "/api/v1/demands?limit=0", "", nil, 400, []string{"limit"}},
			{"bad cursor", "GET", "/api/v1/demands?cursor=zzz", "", nil, 400, []string{"cursor"}},
			{"bad order", "GET", "/api/v1/demands?order=up", "", nil, 400, []string{"order"}},
			{"too many values", "GET", "/api/v1/demands?source=" + manySources, "", nil, 400, []string{"source", "50"}},
			{"customer too long", "GET", "/api/v1/demands?customer=" + strings.Repeat("长", 201), "", nil, 400, []string{"customer"}},
			{"unknown parameter", "GET", "/api/v1/demands?stauts=new", "", nil, 400, []string{"stauts"}},
			{"repeated limit", "GET", "/api/v1/demands?limit=1&limit=2", "", nil, 400, []string{"limit"}},
			{"unknown code", "GET", "/api/v1/demands/DEM000000000", "", nil, 404, []string{"DEM000000000"}},
			{"patch unknown code", "PATCH", "/api/v1/demands/DEM000000000", `{"status":"new"}`, nil, 404, []string{"DEM000000000"}},
			{"unknown path", "GET", "/api/v1/nothing", "", nil, 404, nil},
			{"delete", "DELETE", one, "", nil, 405, []string{"DELETE"}},
			{"post list", "POST", "/api/v1/demands", "", nil, 405, nil},
			{"not JSON", "PATCH", one, `status=new`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, []string{"application/json"}},
			{"too big", "PATCH", one, `{"response_plan":"` + strings.Repeat("长", 30000) + `"}`, nil, 413, []string{"64"}},
			{"malformed", "PATCH", one, `{"status":`, nil, 400, []string{"JSON"}},
			{"not an object", "PATCH", one, `["status"]`, nil, 400, []string{"JSON"}},
			{"empty object", "PATCH", one, `{}`, nil, 400, []string{"nothing"}},
			{"unknown field", "PATCH", one, `{"status":"new","owner":"me"}`, nil, 400, []string{`"owner"`}},
			{"status does not parse", "PATCH", one, `{"status":"搞定了"}`, nil, 422, []string{"搞定了", "new (待处理)", "rejected (已拒绝)"}},
			{"type does not parse", "PATCH", one, `{"type":"bug"}`, nil, 422, []string{"bug", "complaint (投诉)"}},
			{"urgency does not parse", "PATCH", one, `{"urgency":"asap"}`, nil, 422, []string{"asap", "high"}},
			{"satisfaction out of range", "PATCH", one, `{"satisfaction":6}`, nil, 422, []string{"1 to 5"}},
			{"satisfaction as text", "PATCH", one, `{"satisfaction":"5"}`, nil, 422, []string{"satisfaction"}},
			{"due_at not RFC 3339", "PATCH", one, `{"due_at":"明天"}`, nil, 422, []string{"due_at"}},
			{"status as number", "PATCH", one, `{"status":3}`, nil, 422, []string{"status"}},
			{"null value", "PATCH", one, `{"department":null}`, nil, 422, []string{"department"}},
			{"stale If-Match", "PATCH", one, `{"status":"delivered"}`, []string{"If-Match", etag}, 409, []string{codes["A"]}},
			{"bad If-Match", "PATCH", one, `{"status":"delivered"}`, []string{"If-Match", "abc"}, 400, []string{"If-Match"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				a := e.do(t, tc.method, tc.target, writeSecret, tc.body, tc.header...)
				if a.status != tc.want {
					t.Fatalf("%d %s, want %d", a.status, a.body, tc.want)
				}
				if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Errorf("Content-Type %q", ct)
				}
				var body struct {
					Error   string `json:"error"`
					ErrorZH string `json:"error_zh"`
				}
				a.json(t, &body)
				for _, s := range tc.says {
					if !strings.Contains(body.Error, s) {
						t.Errorf("error %q does not say %q", body.Error, s)
					}
				}
				if !strings.ContainsFunc(body.ErrorZH, func(r rune) bool { return r >= 0x4e00 && r <= 0x9fff }) {
					t.Errorf("error_zh %q has no Chinese", body.ErrorZH)
				}
				if a.status == 405 && a.header.Get("Allow") == "" {
					t.Error("405 without Allow")
				}
			})
		}
		// Over 64 KiB without a Content-Length: cut while read.
		req := httptest.NewRequest("PATCH", one, strings.NewReader(`{"response_plan":"`+strings.Repeat("x", 70<<10)+`"}`))
		req.ContentLength = -1
		req.Header.Set("Authorization", "Bearer "+writeSecret)
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, req)
		if w.Code != 413 {
			t.Errorf("chunked body over 64 KiB: %d %s", w.Code, w.Body)
		}
		// A current If-Match goes through.
		a := e.do(t, "GET", one, readSecret, "")
		if a = e.do(t, "PATCH", one, writeSecret, `{"status":"delivered"}`, "If-Match", "W/"+a.header.Get("ETag")); a.status != 200 {
			t.Errorf("current If-Match: %d %s", a.status, a.body)
		}
	})
}

func TestStats(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		seed(t, e)
		var s struct {
			Total, Duplicates                                  int
			ByType, ByUrgency, ByPriority, ByStatus, ByChannel map[string]int
		}
		a := e.do(t, "GET", "/api/v1/stats", readSecret, "")
		if a.status != 200 {
			t.Fatalf("%d %s", a.status, a.body)
		}
		var raw map[string]json.RawMessage
		a.json(t, &raw)
		for _, k := range []string{"total", "duplicates", "by_type", "by_urgency", "by_priority", "by_status", "by_channel"} {
			if _, ok := raw[k]; !ok {
				t.Errorf("no %s in %s", k, a.body)
			}
		}
		json.Unmarshal(raw["total"], &s.Total)
		json.Unmarshal(raw["duplicates"], &s.Duplicates)
		json.Unmarshal(raw["by_type"], &s.ByType)
		json.Unmarshal(raw["by_urgency"], &s.ByUrgency)
		json.Unmarshal(raw["by_priority"], &s.ByPriority)
		json.Unmarshal(raw["by_status"], &s.ByStatus)
		json.Unmarshal(raw["by_channel"], &s.ByChannel)
		want := map[string]int{"complaint": 2, "inquiry": 1, "feature": 1, "suggestion": 1}
		if s.Total != 5 || s.Duplicates != 1 || !mapsEqual(s.ByType, want) ||
			!mapsEqual(s.ByUrgency, map[string]int{"high": 2, "medium": 1, "low": 2}) ||
			!mapsEqual(s.ByPriority, map[string]int{"P1": 2, "P2": 1, "P4": 2}) ||
			!mapsEqual(s.ByStatus, map[string]int{"new": 4, "closed": 1}) ||
			!mapsEqual(s.ByChannel, map[string]int{"email": 2, "questionnaire": 1, "webhook": 1, "manual": 1}) {
			t.Errorf("stats %s", a.body)
		}
		var since struct{ Total int }
		e.do(t, "GET", "/api/v1/stats?since=2026-11-24&until=2026-11-24", readSecret, "").json(t, &since)
		if since.Total != 1 {
			t.Errorf("stats of the 24th (Shanghai): %d, want 1", since.Total)
		}
	})
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
