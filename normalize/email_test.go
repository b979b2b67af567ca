package normalize

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/ingest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// golden is what a message normalises to, as kept in *.golden.json.
type golden struct {
	Outcome     string              `json:"outcome"` // record, ignored, quarantined
	Reason      string              `json:"reason,omitempty"`
	Title       string              `json:"title,omitempty"`
	Text        string              `json:"text,omitempty"`
	Customer    demand.Customer     `json:"customer"`
	ReceivedAt  string              `json:"received_at,omitempty"`
	Ref         string              `json:"ref,omitempty"`
	Urgency     demand.Urgency      `json:"urgency,omitempty"`
	Language    string              `json:"language,omitempty"`
	Attachments []demand.Attachment `json:"attachments,omitempty"`
	Extra       []demand.Attr       `json:"extra,omitempty"`
	Flags       []string            `json:"flags,omitempty"`
}

func normaliseFile(t *testing.T, path string) golden {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := Email(ingest.Item{Channel: demand.ChannelEmail, Source: "inbox", Body: b,
		ReceivedAt: time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC), ContentType: ingest.ContentTypeEmail})
	if ig, ok := AsIgnore(err); ok {
		return golden{Outcome: "ignored", Reason: ig.Reason}
	}
	if q, ok := AsQuarantine(err); ok {
		return golden{Outcome: "quarantined", Reason: q.Reason}
	}
	if err != nil {
		t.Fatalf("%s: unexpected error %v", path, err)
	}
	return golden{Outcome: "record", Title: rec.Description.Title, Text: rec.Description.Text, Customer: rec.Customer,
		ReceivedAt: rec.Source.ReceivedAt.UTC().Format(time.RFC3339), Ref: rec.Source.ExternalRef, Urgency: rec.Urgency,
		Language: rec.Description.Language, Attachments: rec.Description.Attachments, Extra: rec.Extra, Flags: rec.Flags}
}

// TestEmailGolden normalises real-world messages (testdata/mail, from the
// shared corpus) and compares with the reviewed golden files; go test
// -run TestEmailGolden -update rewrites them.
func TestEmailGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/mail/*.eml")
	if len(files) < 15 {
		t.Fatalf("%d test messages", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			got := normaliseFile(t, f)
			b, _ := json.MarshalIndent(got, "", "  ")
			b = append(b, '\n')
			gf := strings.TrimSuffix(f, ".eml") + ".golden.json"
			if *update {
				if err := os.WriteFile(gf, b, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(gf)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if string(want) != string(b) {
				t.Errorf("%s differs from its golden file:\n%s", f, b)
			}
			if strings.Contains(got.Text+got.Title, "\uFFFD") && !slices.Contains(got.Flags, demand.FlagTextDamaged) {
				t.Error("replacement characters in the text, but the record is not flagged")
			}
		})
	}
}

func TestStripReply(t *testing.T) {
	tests := []struct{ in, want string }{
		{"好的，明天处理。\n\n在 2026年11月23日 10:00，张伟 写道：\n> 之前的问题\n> 还在", "好的，明天处理。"},
		{"Sounds good.\n\nOn Mon, Nov 23, 2026 at 10:00 AM John <j@x.com> wrote:\n> earlier", "Sounds good."},
		{"请看下面\n\n-----原始邮件-----\n发件人: a@b.cn\n主题: x", "请看下面"},
		{"Fix please\n\nFrom: Support <s@x.com>\nSent: Monday\nTo: me", "Fix please"},
		{"报表导出失败，请尽快处理。\n\n谢谢！\n张伟\n华信科技有限公司\n138-0000-0000", "报表导出失败，请尽快处理。"},
		{"Export fails.\n\nBest regards,\nJohn", "Export fails."},
		{"Body\n-- \nsig line", "Body"},
		{"> quoted only first\nmy words", "my words"},
	}
	for _, tt := range tests {
		if got := StripReply(tt.in); got != tt.want {
			t.Errorf("StripReply(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHTMLToText(t *testing.T) {
	in := `<html><head><style>p{color:red}</style><script>alert(1)</script></head><body><p>您好，</p><p>系统<b>无法</b>登录。</p><ul><li>步骤一</li><li>步骤二</li></ul><a href="https://x.example/t/1">工单</a><br>谢谢</body></html>`
	want := "您好，\n系统 无法 登录。\n- 步骤一\n- 步骤二\n工单 (https://x.example/t/1)\n谢谢"
	if got := htmlToText(in); got != want {
		t.Errorf("htmlToText = %q, want %q", got, want)
	}
}

func TestEmailHeadersAndNoise(t *testing.T) {
	msg := func(headers, body string) ingest.Item {
		return ingest.Item{Channel: demand.ChannelEmail, Body: []byte(headers + "\r\n\r\n" + body)}
	}
	rec, err := Email(msg("From: =?GB2312?B?1cXOsA==?= <zhang@huaxin.com>\r\nSubject: =?GBK?B?saix7bW8s/bKp7Dc?=\r\nX-Priority: 1\r\nMessage-ID: <abc@huaxin.com>\r\nDate: Tue, 24 Nov 2026 10:00:00 +0800\r\nContent-Type: text/plain; charset=gb2312\r\nContent-Transfer-Encoding: base64",
		"z7XNs87et6i1x8K8"))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Customer.Contact != "张伟" || rec.Description.Title != "报表导出失败" || rec.Urgency != demand.UrgencyHigh ||
		rec.Source.ExternalRef != "abc@huaxin.com" || !rec.Source.ReceivedAt.Equal(time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)) {
		t.Errorf("record %+v %+v %s %s %v", rec.Customer, rec.Description, rec.Urgency, rec.Source.ExternalRef, rec.Source.ReceivedAt)
	}
	if rec.Description.Text != "系统无法登录" {
		t.Errorf("GB2312 body decoded as %q", rec.Description.Text)
	}
	for headers, why := range map[string]string{
		"From: a@b.cn\r\nAuto-Submitted: auto-replied\r\nSubject: hi":        "Auto-Submitted",
		"From: a@b.cn\r\nX-Autoreply: yes\r\nSubject: hi":                    "X-Autoreply",
		"From: a@b.cn\r\nPrecedence: bulk\r\nSubject: hi":                    "Precedence",
		"From: MAILER-DAEMON@b.cn\r\nSubject: failure":                       "MAILER-DAEMON",
		"From: a@b.cn\r\nSubject: 自动回复：我正在休假":                                "自动回复",
		"From: a@b.cn\r\nSubject: Automatic reply: I am away":                "automatic reply",
		"From: a@b.cn\r\nReturn-Path: <>\r\nSubject: x":                      "Return-Path",
		"From: a@b.cn\r\nContent-Type: multipart/report; boundary=x\r\nS: x": "multipart/report",
	} {
		_, err := Email(msg(headers, "body"))
		ig, ok := AsIgnore(err)
		if !ok || !strings.Contains(strings.ToLower(ig.Reason), strings.ToLower(why)) {
			t.Errorf("%q: got %v, want ignored for %s", headers, err, why)
		}
	}
	if _, err := Email(msg("From: a@b.cn\r\nAuto-Submitted: no\r\nSubject: 需求", "请增加导出")); err != nil {
		t.Errorf("Auto-Submitted: no is a person: %v", err)
	}
}

func FuzzEmail(f *testing.F) {
	files, _ := filepath.Glob("testdata/mail/*.eml")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("Subject: =?utf-8?B?5Lit?= =?utf-8?B?5paH?=\r\n\r\nx"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := Email(ingest.Item{Channel: demand.ChannelEmail, Body: b})
		if err == nil && rec == nil {
			t.Fatal("nil record without an error")
		}
		if err != nil {
			_, ig := AsIgnore(err)
			_, q := AsQuarantine(err)
			if !ig && !q {
				t.Fatalf("error of an unexpected kind: %v", err)
			}
		}
	})
}

func TestEncodedWordsSplitMidCharacter(t *testing.T) {
	for in, want := range map[string]string{
		"=?UTF-8?B?6ZyA5g==?= =?UTF-8?B?sYI=?=":     "需求",
		"=?GBK?B?0OjH?= =?GBK?B?8w==?= 报表":          "需求 报表",
		"Re: =?gb2312?Q?=D0=E8=C7=F3?= ok":          "Re: 需求 ok",
		"=?NONE?B?VEVTVA=?=":                        "TEST",
		"broken =?utf-8?B?###?= word":               "broken =?utf-8?B?###?= word",
		"=?utf-8?q?a_b?= =?iso-8859-1?q?caf=E9?= x": "a bcafé x",
	} {
		if got, _ := decodeHeader(in); got != want {
			t.Errorf("decodeHeader(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSignatureContact(t *testing.T) {
	rec, err := Email(ingest.Item{Channel: demand.ChannelEmail, Body: []byte("From: 张伟 <zw@huaxin.com>\r\nSubject: 报表\r\n\r\n报表导出失败。\r\n\r\n谢谢！\r\n张伟\r\n上海华信科技有限公司\r\n电话：138-1234-5678\r\n")})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Customer.Name != "上海华信科技有限公司" || rec.Customer.Phone != "138-1234-5678" || rec.Description.Text != "报表导出失败。" {
		t.Errorf("customer %+v, text %q", rec.Customer, rec.Description.Text)
	}
}

// TestStripReplyPrefilter pins the literal prefilters of StripReply to the
// expressions they guard: with and without them, the same cut.
func TestStripReplyPrefilter(t *testing.T) {
	plain := func(text string) string {
		cut := len(text)
		for _, re := range append(replyMarkers, signatureMarker) {
			if loc := re.FindStringIndex(text); loc != nil && loc[0] < cut {
				cut = loc[0]
			}
		}
		if loc := signOff.FindStringIndex(text[:cut]); loc != nil && loc[0] > 0 {
			cut = loc[0]
		}
		var kept []string
		for _, line := range strings.Split(text[:cut], "\n") {
			if !strings.HasPrefix(strings.TrimSpace(line), ">") {
				kept = append(kept, line)
			}
		}
		return strings.TrimSpace(strings.Join(kept, "\n"))
	}
	parts := []string{"请处理报表导出。", "在 周一，李雷 写道：", "On Mon, Ann wrote:", "-----Original Message-----", "-- 转发的邮件 --",
		"发件人：a@b.cn", "From: x", "发送时间：周一", "Sent: Monday", strings.Repeat("_", 24), "-- ", "--", "谢谢！", "此致",
		"THANKS!", "Best,", "Kind Regards,", "Cheers", "> quoted", "thank you.", "  regards  ", "best regards", "顺祝商祺"}
	for i := 0; i < 4000; i++ {
		var b strings.Builder
		for j, x := 0, i; j < 4; j, x = j+1, x/len(parts) {
			b.WriteString(parts[(x+j*7)%len(parts)])
			b.WriteString("\n")
		}
		in := b.String()
		if got, want := StripReply(in), plain(in); got != want {
			t.Fatalf("StripReply(%q) = %q, without prefilters %q", in, got, want)
		}
	}
}

func BenchmarkStripReply(b *testing.B) {
	text := strings.Repeat("您好，我们的收银系统从今天上午开始很慢，结账要等很久，麻烦尽快安排技术人员看一下。\n", 5)
	for i := 0; i < b.N; i++ {
		StripReply(text)
	}
}
