package admin_test

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/demandd/demandd/admin"
	"github.com/demandd/demandd/engine"
	"github.com/demandd/demandd/ingest"
	"github.com/demandd/demandd/internal/testenv"
)

// node helpers over golang.org/x/net/html.
func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func walk(n *html.Node, fn func(*html.Node)) {
	fn(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, fn)
	}
}

func byID(doc *html.Node, id string) *html.Node {
	var found *html.Node
	walk(doc, func(n *html.Node) {
		if found == nil && n.Type == html.ElementNode && attr(n, "id") == id {
			found = n
		}
	})
	return found
}

// text is n's text with runs of white space made one space.
func text(n *html.Node) string {
	if n == nil {
		return ""
	}
	var b strings.Builder
	walk(n, func(c *html.Node) {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
			b.WriteByte(' ')
		}
	})
	return strings.Join(strings.Fields(b.String()), " ")
}

func hasClass(n *html.Node, class string) bool {
	for _, c := range strings.Fields(attr(n, "class")) {
		if c == class {
			return true
		}
	}
	return false
}

// The status page, fetched and parsed as a browser would: every source
// with its state, lag, last success and error; today's counts; the
// quarantine with its reasons; the latest reports, whose links download
// the workbooks. No script, nothing from another host, a phone viewport.
func TestStatusPage(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, b.URL(t), admin.Config{})
			ctx := context.Background()
			f.m.AddSource(admin.Source{Name: "support", Channel: "email", Parts: func() []admin.Part {
				return []admin.Part{
					{Name: "INBOX", Connected: true, Idle: true, LastSuccess: time.Now().Add(-150 * time.Second), Lag: 4 * time.Second},
					{Name: "售后", LastError: "log in as support: authentication failed"},
				}
			}})
			f.m.AddSource(admin.Source{Name: "inbox", Channel: "questionnaire"})
			f.m.AddSource(admin.Source{Name: "webhook", Channel: "webhook", Items: []string{"crm"}})
			f.m.SourceState("support", engine.SourceRunning, nil)
			f.m.SourceState("inbox", engine.SourceFailed, errors.New("folder /srv/in: permission denied"))
			f.m.SourceState("webhook", engine.SourceRunning, nil)

			if _, err := f.eng.Emit(ctx, ingest.Batch{Items: []ingest.Item{
				jsonItem("crm", "1", "希望增加批量导出功能", "我们每周要导出上千条记录，请增加批量导出"),
				jsonItem("crm", "2", "登录页面打不开", "今天上午开始所有人都无法登录，影响核心业务"),
			}}); err != nil {
				t.Fatal(err)
			}
			seedQuarantine(t, f)
			yesterday := time.Now().In(testenv.Shanghai).AddDate(0, 0, -1).Format(time.DateOnly)
			name := "需求日报-" + yesterday + ".xlsx"
			path := filepath.Join(f.reportDir, name)
			os.WriteFile(path, []byte("PK report bytes"), 0o640)
			if _, _, err := f.st.ClaimReport(ctx, yesterday, "test", time.Now(), time.Hour); err != nil {
				t.Fatal(err)
			}
			if err := f.st.MarkReportWritten(ctx, yesterday, "test", path, false, time.Now()); err != nil {
				t.Fatal(err)
			}

			code, body, ct := f.get(t, "/")
			if code != 200 || ct != "text/html; charset=utf-8" {
				t.Fatalf("status page: %d %s", code, ct)
			}
			doc, err := html.Parse(strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			viewport := false
			walk(doc, func(n *html.Node) {
				if n.Type != html.ElementNode {
					return
				}
				if n.Data == "script" || n.Data == "link" || n.Data == "img" || n.Data == "iframe" {
					t.Errorf("the page has a <%s>", n.Data)
				}
				for _, k := range []string{"src", "href", "action"} {
					if v := attr(n, k); strings.Contains(v, "//") || strings.HasPrefix(v, "javascript:") {
						t.Errorf("<%s %s=%q> reaches elsewhere", n.Data, k, v)
					}
				}
				if n.Data == "meta" && attr(n, "name") == "viewport" && strings.Contains(attr(n, "content"), "width=device-width") {
					viewport = true
				}
			})
			if !viewport {
				t.Error("no phone viewport")
			}
			if got := text(byID(doc, "readiness")); !strings.Contains(got, "未就绪") || !strings.Contains(got, "permission denied") {
				t.Errorf("readiness: %q", got)
			}

			// Each source on a card of its own, with its state in Chinese.
			cards := map[string]string{}
			walk(byID(doc, "sources"), func(n *html.Node) {
				if n.Type == html.ElementNode && hasClass(n, "source") {
					var name string
					walk(n, func(c *html.Node) {
						if c.Type == html.ElementNode && hasClass(c, "name") {
							name = text(c)
						}
					})
					cards[name] = text(n)
				}
			})
			for name, want := range map[string][]string{
				"support": {"邮件", "运行中，有邮件夹未连接", "最近成功 2 分钟前", "延迟 4 秒", "INBOX", "已连接（IDLE 推送）", "售后", "未连接", "authentication failed"},
				"inbox":   {"问卷", "失败，稍后重启", "permission denied"},
				"webhook": {"工单", "运行中", "最近成功 刚刚"},
			} {
				for _, w := range want {
					if !strings.Contains(cards[name], w) {
						t.Errorf("source %s: no %q in %q", name, w, cards[name])
					}
				}
			}
			if len(cards) != 3 {
				t.Errorf("%d source cards: %v", len(cards), cards)
			}

			if got := text(byID(doc, "today-total")); got != "2" {
				t.Errorf("today's total %q, want 2", got)
			}
			today := text(byID(doc, "today"))
			for _, w := range []string{"按渠道 工单 2", "按类型", "按状态 待处理 2"} {
				if !strings.Contains(today, w) {
					t.Errorf("today: no %q in %q", w, today)
				}
			}
			q := text(byID(doc, "quarantine"))
			for _, w := range []string{"映射找不到标题", "找不到表头：请确认第一行是列名", "文件 F1", "/srv/in/failed/坏表.xlsx", "demandd reprocess"} {
				if !strings.Contains(q, w) {
					t.Errorf("quarantine: no %q in %q", w, q)
				}
			}

			// The report's link downloads the workbook.
			var href string
			walk(byID(doc, "reports"), func(n *html.Node) {
				if n.Type == html.ElementNode && n.Data == "a" {
					href = attr(n, "href")
				}
			})
			if want := "reports/" + url.PathEscape(name); href != want {
				t.Fatalf("report link %q, want %q", href, want)
			}
			if got := text(byID(doc, "reports")); !strings.Contains(got, yesterday+" 已生成 邮件：不发送 "+name) {
				t.Errorf("reports: %q", got)
			}
			code, body, _ = f.get(t, "/"+href)
			if code != 200 || body != "PK report bytes" {
				t.Errorf("report download: %d %q", code, body)
			}
		})
	}
}
