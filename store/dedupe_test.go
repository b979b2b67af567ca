package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/demandd/demandd/dedupe"
	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/internal/testdb"
	"github.com/demandd/demandd/normalize"
	"github.com/demandd/demandd/store"
)

const longText = "导出报表的时候系统非常慢，每次要等五分钟以上才能下载完成，影响我们月底结账。财务部门每天都需要导出应收账款明细和客户对账单，" +
	"数据量大概在二十万行左右，希望能够优化导出速度或者支持后台异步导出完成后邮件通知我们。另外导出的文件有时候会出现乱码。"

// nearVariant is text with a word added that keeps it a near-duplicate
// under the current SimHash: the store's linking is under test here, the
// hash's quality in package dedupe.
func nearVariant(t testing.TB, text string) string {
	t.Helper()
	v, ok := findVariant(text)
	if !ok {
		t.Fatalf("no near variant of %q", text)
	}
	return v
}

func findVariant(text string) (string, bool) {
	a := dedupe.Clean("", text)
	for _, w := range []string{"了", "吧", "呢", "啊", "呀", "哦", "嘛", "的", "谢谢", "急"} {
		for _, v := range []string{text + w, w + text} {
			b := dedupe.Clean("", v)
			if dedupe.Distance(dedupe.SimHash(a), dedupe.SimHash(b)) <= 2 && dedupe.Similarity(a, b) >= 0.9 {
				return v, true
			}
		}
	}
	return "", false
}

func dedupeCfg(mod func(*dedupe.Config)) *dedupe.Config {
	c := &dedupe.Config{}
	if mod != nil {
		mod(c)
	}
	c.SetDefaults()
	return c
}

// nearEntry is an entry whose fingerprint is computed as normalize does.
func nearEntry(key, text, email string, at time.Time, u demand.Urgency) store.Entry {
	e := entry(key, text, email)
	e.Record.Source.ReceivedAt, e.Raw.ReceivedAt = at, at
	e.Record.Urgency = u
	normalize.Identify(e.Record) // as the engine's normalise step does
	return e
}

func save(t *testing.T, s *store.Store, cfg *dedupe.Config, es ...store.Entry) store.SaveResult {
	t.Helper()
	o := opts()
	o.Dedupe = cfg
	res, err := s.SaveBatch(context.Background(), es, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func dedupeHistory(t *testing.T, s *store.Store, code string) []store.LinkReason {
	t.Helper()
	e, err := s.Explain(context.Background(), code)
	if err != nil {
		t.Fatal(err)
	}
	return e.History
}

func TestDedupeLinking(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)
	cases := []struct {
		name        string
		cfg         func(*dedupe.Config)
		first, then string
		email2      string
		after       time.Duration
		inBatch     bool
		want        string // "" not linked, else the match
	}{
		{"exact after cleaning", nil, longText, "  " + longText + "!!！", "a@x.com", time.Hour, false, "fingerprint"},
		// The cleaned text drops greetings and sign-offs: an exact repeat.
		{"greeting and signature", nil, longText, "您好，\n" + longText + "\n谢谢", "a@x.com", time.Hour, false, "fingerprint"},
		{"near duplicate", nil, longText, "near", "a@x.com", time.Hour, false, "simhash"},
		// Reworded: more bits apart than a band reaches; the customer's
		// recent demands are compared too.
		{"reworded by the same customer", nil, "希望移动端也能查看和审批报销单，出差的时候用电脑很不方便，经常耽误报销进度",
			"希望移动端也能查看并审批报销单，出差时用电脑很不方便，经常耽误报销进度", "a@x.com", time.Hour, false, "simhash"},
		{"near duplicate in one batch", nil, longText, "near", "a@x.com", time.Hour, true, "simhash"},
		{"outside the window", nil, longText, "near", "a@x.com", 31 * 24 * time.Hour, false, ""},
		{"inside the window", nil, longText, "near", "a@x.com", 29 * 24 * time.Hour, false, "simhash"},
		{"other customer", nil, longText, "near", "b@y.com", time.Hour, false, ""},
		{"other customer, cross_customer", func(c *dedupe.Config) { c.CrossCustomer = true }, longText, "near", "b@y.com", time.Hour, false, "simhash"},
		{"short texts exact only", nil, "导出太慢了啊", "导出太慢了呀", "a@x.com", time.Hour, false, ""},
		{"short texts exact", nil, "导出太慢了啊", "导出太慢了啊。", "a@x.com", time.Hour, false, "fingerprint"},
		{"different text", nil, longText, "希望增加一个批量导入客户名单的功能，支持Excel模板下载和字段校验", "a@x.com", time.Hour, false, ""},
		{"disabled", func(c *dedupe.Config) { off := false; c.Enabled = &off }, longText, "near", "a@x.com", time.Hour, false, ""},
	}
	for _, tc := range cases {
		if tc.then == "near" {
			tc.then = nearVariant(t, longText)
		}
		t.Run(tc.name, func(t *testing.T) {
			backends(t, func(t *testing.T, s *store.Store) {
				cfg := dedupeCfg(tc.cfg)
				a := nearEntry("a", tc.first, "a@x.com", t0, demand.UrgencyLow)
				b := nearEntry("b", tc.then, tc.email2, t0.Add(tc.after), demand.UrgencyLow)
				var codes []string
				if tc.inBatch {
					codes = save(t, s, cfg, a, b).Codes
				} else {
					codes = append(save(t, s, cfg, a).Codes, save(t, s, cfg, b).Codes...)
				}
				e, err := s.Explain(context.Background(), codes[1])
				if err != nil {
					t.Fatal(err)
				}
				if tc.want == "" {
					if e.Canonical != nil {
						t.Fatalf("linked to %s, want canonical", e.Canonical.Code)
					}
					return
				}
				if e.Canonical == nil || e.Canonical.Code != codes[0] {
					t.Fatalf("canonical = %v, want %s", e.Canonical, codes[0])
				}
				if e.Canonical.Occurrences != 2 {
					t.Errorf("occurrences = %d, want 2", e.Canonical.Occurrences)
				}
				if len(e.History) != 1 || e.History[0].Match != tc.want || e.History[0].Canonical != codes[0] {
					t.Errorf("history = %+v, want one %s link to %s", e.History, tc.want, codes[0])
				}
			})
		})
	}
}

func TestDedupeCanonicalTakesHighestUrgency(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		cfg := dedupeCfg(nil)
		t0 := time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)
		a := save(t, s, cfg, nearEntry("a", longText, "a@x.com", t0, demand.UrgencyLow)).Codes[0]
		save(t, s, cfg, nearEntry("b", longText+"了", "a@x.com", t0.Add(time.Hour), demand.UrgencyHigh))
		save(t, s, cfg, nearEntry("c", longText+"吧", "a@x.com", t0.Add(2*time.Hour), demand.UrgencyMedium))
		r, err := s.Demand(context.Background(), a)
		if err != nil {
			t.Fatal(err)
		}
		if r.Urgency != demand.UrgencyHigh || r.Occurrences != 3 {
			t.Errorf("canonical urgency %s occurrences %d, want high 3", r.Urgency, r.Occurrences)
		}
		h := dedupeHistory(t, s, a)
		if len(h) != 1 || h[0].Action != "urgency" || h[0].Urgency[0] != "low" || h[0].Urgency[1] != "high" {
			t.Errorf("history = %+v, want one urgency low→high", h)
		}
	})
}

func TestDedupeLinkUnlinkReplay(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		t0 := time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)
		// Stored without near-duplicate linking, as before 0010.
		codes := save(t, s, nil,
			nearEntry("a", longText, "a@x.com", t0, demand.UrgencyLow),
			nearEntry("b", longText+"了", "a@x.com", t0.Add(time.Hour), demand.UrgencyLow),
			nearEntry("c", "希望增加一个批量导入客户名单的功能，支持Excel模板下载", "a@x.com", t0.Add(2*time.Hour), demand.UrgencyLow)).Codes
		cfg := dedupeCfg(nil)
		for _, apply := range []bool{false, true} {
			got, err := s.ReplayDedupe(ctx, cfg, time.Time{}, apply)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Duplicate != codes[1] || got[0].Canonical != codes[0] {
				t.Fatalf("replay apply=%v = %+v, want %s → %s", apply, got, codes[1], codes[0])
			}
		}
		if got, _ := s.ReplayDedupe(ctx, cfg, time.Time{}, false); len(got) != 0 {
			t.Errorf("second replay = %+v, want nothing", got)
		}
		if err := s.Unlink(ctx, codes[1], cfg); err != nil {
			t.Fatal(err)
		}
		if err := s.Unlink(ctx, codes[1], cfg); !errors.Is(err, store.ErrNotDuplicate) {
			t.Errorf("second unlink: %v, want ErrNotDuplicate", err)
		}
		if r, _ := s.Demand(ctx, codes[0]); r.Occurrences != 1 {
			t.Errorf("occurrences after unlink = %d, want 1", r.Occurrences)
		}
		for _, tc := range []struct {
			code, canon string
			want        error
		}{
			{codes[2], codes[2], store.ErrSelfLink},
			{codes[2], codes[0], nil},
			{codes[1], codes[2], store.ErrLinkToDuplicate},
			{codes[2], codes[1], store.ErrAlreadyLinked},
		} {
			if err := s.Link(ctx, tc.code, tc.canon); !errors.Is(err, tc.want) {
				t.Errorf("link %s %s: %v, want %v", tc.code, tc.canon, err, tc.want)
			}
		}
		e, err := s.Explain(ctx, codes[0])
		if err != nil {
			t.Fatal(err)
		}
		if e.Record.Occurrences != 2 || len(e.Duplicates) != 1 || e.Duplicates[0] != codes[2] {
			t.Errorf("canonical %s: occurrences %d duplicates %v", codes[0], e.Record.Occurrences, e.Duplicates)
		}
		var actions []string
		for _, h := range e.History {
			actions = append(actions, h.Action+" "+h.Match)
		}
		if b, _ := json.Marshal(actions); string(b) != `["link replay","unlink manual","link manual"]` {
			t.Errorf("canonical history = %s", b)
		}
	})
}

// Two engines ingesting near-identical items at one moment end with one
// canonical demand per group.
func TestDedupeConcurrentEngines(t *testing.T) {
	url := testdb.Postgres(t)
	s1, s2 := open(t, url), open(t, url)
	cfg := dedupeCfg(nil)
	t0 := time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)
	const groups = 20
	for g := range groups {
		email := fmt.Sprintf("g%d@company%d.com", g, g) // one customer per group
		text := fmt.Sprintf("第%d组：%s", g, longText)
		v, ok := findVariant(text)
		if !ok {
			v = text + "。" // the same cleaned text: the exact match races alike
		}
		texts := []string{text, v}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, s := range []*store.Store{s1, s2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				o := opts()
				o.Dedupe = cfg
				e := nearEntry(fmt.Sprintf("g%d-%d", g, i), texts[i], email, t0, demand.UrgencyLow)
				_, errs[i] = s.SaveBatch(context.Background(), []store.Entry{e}, nil, o)
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
	}
	canonical := 0
	for _, r := range all(t, s1) {
		if r.DuplicateOf == 0 {
			canonical++
		}
	}
	if canonical != groups {
		t.Errorf("%d canonical demands, want %d", canonical, groups)
	}
}

// Colleagues at one company are one customer; public mail addresses are
// each their own.
func TestCustomerKeyByDomain(t *testing.T) {
	key := func(name, contact, email string) string {
		return store.CustomerKey(&demand.Record{Customer: demand.Customer{Name: name, Contact: contact, Email: email}})
	}
	if a, b := key("", "李明", "li.ming@hd-mfg.com"), key("华东制造", "王芳", "wang.fang@mail.hd-mfg.com"); a != b || a == "" {
		t.Errorf("one company's domain: %q vs %q", a, b)
	}
	if a, b := key("", "", "li@qq.com"), key("", "", "wang@qq.com"); a == b {
		t.Errorf("two qq.com senders share the key %q", a)
	}
	if a, b := key("华东制造有限公司", "李明", ""), key("华东制造", "王芳", ""); a != b {
		t.Errorf("one company by name: %q vs %q", a, b)
	}
	if k := key("", "", ""); k != "" {
		t.Errorf("anonymous: %q", k)
	}
}

// TestOccurrencesCountedPerCanonical saves, in one batch, several
// duplicates of each of two stored demands, exact and near: each canonical
// is counted once per duplicate of its own, however the counts of a batch
// are sent (one statement for all canonicals on PostgreSQL).
func TestOccurrencesCountedPerCanonical(t *testing.T) {
	const otherText = "希望增加一个批量导入客户名单的功能，支持Excel模板下载和字段校验，导入失败的行能单独导出修改后再次导入，" +
		"并且导入完成后给负责人发送通知邮件，说明成功和失败的行数以及失败的原因。"
	backends(t, func(t *testing.T, s *store.Store) {
		cfg := dedupeCfg(nil)
		t0 := time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)
		first := save(t, s, cfg, nearEntry("a", longText, "a@x.com", t0, demand.UrgencyLow),
			nearEntry("b", otherText, "b@y.com", t0, demand.UrgencyLow),
			nearEntry("c", "希望报表支持按部门筛选", "c@z.com", t0, demand.UrgencyLow)).Codes
		later := t0.Add(time.Hour)
		var es []store.Entry
		for i := range 3 { // exact copies of a
			es = append(es, nearEntry(fmt.Sprint("a", i), longText, "a@x.com", later, demand.UrgencyLow))
		}
		for i := range 2 { // exact copies of b
			es = append(es, nearEntry(fmt.Sprint("b", i), otherText, "b@y.com", later, demand.UrgencyLow))
		}
		es = append(es, nearEntry("b-near", nearVariant(t, otherText), "b@y.com", later, demand.UrgencyLow))
		res := save(t, s, cfg, es...)
		if res.Linked != len(es) {
			t.Fatalf("linked %d of %d: %+v", res.Linked, len(es), res)
		}
		for i, want := range []int{4, 4, 1} {
			r, err := s.Demand(context.Background(), first[i])
			if err != nil {
				t.Fatal(err)
			}
			if r.Occurrences != want {
				t.Errorf("%s occurrences %d, want %d", first[i], r.Occurrences, want)
			}
		}
	})
}

// TestManyLinksInOneBatch links more duplicates in one batch than the
// store inserts history rows for one by one (PostgreSQL streams them with
// COPY): each keeps its reason.
func TestManyLinksInOneBatch(t *testing.T) {
	backends(t, func(t *testing.T, s *store.Store) {
		cfg := dedupeCfg(nil)
		t0 := time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)
		canon := save(t, s, cfg, nearEntry("a", longText, "a@x.com", t0, demand.UrgencyLow)).Codes[0]
		var es []store.Entry
		for i := range 70 {
			es = append(es, nearEntry(fmt.Sprint("a", i), longText, "a@x.com", t0.Add(time.Hour), demand.UrgencyLow))
		}
		codes := save(t, s, cfg, es...).Codes
		for _, code := range []string{codes[0], codes[33], codes[69]} {
			e, err := s.Explain(context.Background(), code)
			if err != nil {
				t.Fatal(err)
			}
			if len(e.History) != 1 || e.History[0].Canonical != canon || e.History[0].Duplicate != code || e.History[0].Match != "fingerprint" {
				t.Errorf("%s history = %+v, want one fingerprint link to %s", code, e.History, canon)
			}
		}
	})
}
