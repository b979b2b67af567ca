package admin

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"path/filepath"
	"time"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/store"
)

//go:embed status.html
var statusHTML string

var statusTemplate = template.Must(template.New("status").Parse(statusHTML))

// quarantineShown is how many quarantined items the page lists; the CLI
// lists them all.
const quarantineShown = 100

// page is what the status page shows.
type page struct {
	Now, Version, Started string
	Ready                 bool
	Reasons               []string
	DB                    DatabaseStatus
	Problems              []string // parts of the page that could not be read
	Sources               []pageSource
	Day                   string
	HaveDay               bool
	Total, Duplicates     int
	Exceptions            int
	Tallies               []pageTally
	Quarantine            []pageItem
	QuarantineMore        bool
	FailedFiles           []pageItem
	ReportsOn             bool
	Reports               []pageReport
	HaveRules             bool
	RulesOK               bool
	RulesAt, RulesError   string
}

type pageSource struct {
	Name, Channel, State, StateClass string
	Since, LastSuccess, LastError    string
	Lag                              string
	Parts                            []pagePart
}

type pagePart struct {
	Name, State, StateClass, LastSuccess, LastError, Lag string
}

type pageTally struct {
	Title string
	Rows  []pageCount
}

type pageCount struct {
	Label string
	N     int
}

type pageItem struct {
	ID, Channel, Source, When, Reason, Where string
	Tries                                    int
}

type pageReport struct {
	Day, Status, StatusClass, Mail, Link, Name, Error string
}

// Chinese names of source states, with the badge colour.
var stateNames = map[string][2]string{
	StateStarting: {"启动中", "warn"},
	StateRunning:  {"运行中", "ok"},
	StateStandby:  {"待命（由其他副本处理）", "ok"},
	StateFailed:   {"失败，稍后重启", "bad"},
	StateStopped:  {"已停止", "bad"},
}

var reportNames = map[string][2]string{
	store.ReportClaimed:   {"生成中", "warn"},
	store.ReportWritten:   {"已生成", "ok"},
	store.ReportDelivered: {"已生成并发送", "ok"},
	store.ReportFailed:    {"生成失败", "bad"},
}

var mailNames = map[string]string{
	store.DeliveryNone:      "不发送",
	store.DeliveryPending:   "待发送",
	store.DeliveryDelivered: "已发送",
	store.DeliveryFailed:    "发送失败",
}

// status renders the status page: one server-side HTML page, no script,
// no resource from elsewhere, readable on a phone. Whatever cannot be
// read (the database is down) is named at the top; the rest is shown.
func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	p := s.page(r.Context())
	var b bytes.Buffer
	if err := statusTemplate.Execute(&b, p); err != nil {
		s.d.Logger.Error("admin: status page", "err", err)
		http.Error(w, "status page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	_, _ = w.Write(b.Bytes())
}

func (s *Server) page(ctx context.Context) page {
	now := s.d.Now()
	loc := s.d.Location
	rd := s.Readiness(ctx)
	p := page{Now: stamp(now, loc), Version: s.d.Version, Started: stamp(s.started, loc), Ready: rd.Ready,
		Reasons: rd.Reasons, DB: rd.Database, ReportsOn: s.d.Reports}
	for _, src := range rd.Sources {
		p.Sources = append(p.Sources, s.pageSource(src, now))
	}
	if s.d.Rules != nil {
		at, err := s.d.Rules()
		p.HaveRules, p.RulesOK, p.RulesAt = true, err == nil, stamp(at, loc)
		if err != nil {
			p.RulesError = err.Error()
		}
	}
	if !rd.Database.Reachable {
		return p // the rest is in the database
	}
	ctx, cancel := context.WithTimeout(ctx, s.d.Timeout)
	defer cancel()
	problem := func(what string, err error) { p.Problems = append(p.Problems, what+"："+err.Error()) }

	start, end := demand.DayBounds(now, loc)
	p.Day = start.Format("2006-01-02")
	if sum, err := s.d.Store.ReportSummary(ctx, demand.ReportQuery{Start: start, End: end, Now: now, SoonBy: now, Location: loc}); err != nil {
		problem("今日统计", err)
	} else {
		p.HaveDay = true
		p.Total, p.Duplicates, p.Exceptions = sum.New, sum.Duplicates, sum.Exceptions
		for _, t := range []struct{ attr, title string }{{"channel", "按渠道"}, {"type", "按类型"}, {"status", "按状态"}} {
			pt := pageTally{Title: t.title}
			for _, tl := range sum.Tallies {
				if tl.Attribute != t.attr {
					continue
				}
				for _, row := range tl.Rows {
					if row.Day > 0 {
						pt.Rows = append(pt.Rows, pageCount{valueLabel(t.attr, row.Value), row.Day})
					}
				}
			}
			p.Tallies = append(p.Tallies, pt)
		}
	}

	if items, err := s.d.Store.RawItems(ctx, store.RawQuarantined, quarantineShown+1); err != nil {
		problem("隔离区", err)
	} else {
		if len(items) > quarantineShown {
			items, p.QuarantineMore = items[:quarantineShown], true
		}
		for _, it := range items {
			p.Quarantine = append(p.Quarantine, pageItem{ID: fmt.Sprint(it.ID), Channel: valueLabel("channel", it.Channel),
				Source: it.Source, When: stamp(it.ReceivedAt, loc), Reason: it.Reason, Where: it.Ref, Tries: it.Attempts})
		}
	}
	if files, err := s.d.Store.FailedFiles(ctx, store.FileFailed); err != nil {
		problem("失败的文件", err)
	} else {
		for _, f := range files {
			p.FailedFiles = append(p.FailedFiles, pageItem{ID: fmt.Sprintf("F%d", f.ID), Channel: valueLabel("channel", f.Channel),
				Source: f.Source, When: stamp(f.FailedAt, loc), Reason: f.Reason, Where: f.MovedTo, Tries: f.Attempts})
		}
	}

	if s.d.Reports {
		runs, err := s.d.Store.ReportRuns(ctx, now.In(loc).AddDate(0, 0, -reportDays).Format(time.DateOnly))
		if err != nil {
			problem("日报", err)
		}
		for i := len(runs) - 1; i >= 0; i-- { // newest first
			run := runs[i]
			st := reportNames[run.Status]
			pr := pageReport{Day: run.Day, Status: or(st[0], run.Status), StatusClass: st[1], Mail: mailNames[run.DeliveryStatus],
				Error: or(run.Error, run.DeliveryError)}
			if run.File != "" && (run.Status == store.ReportWritten || run.Status == store.ReportDelivered) {
				pr.Name = filepath.Base(run.File)
				pr.Link = "reports/" + url.PathEscape(pr.Name)
			}
			p.Reports = append(p.Reports, pr)
		}
	}
	return p
}

func (s *Server) pageSource(src SourceStatus, now time.Time) pageSource {
	st := stateNames[src.State]
	ps := pageSource{Name: src.Name, Channel: valueLabel("channel", src.Channel), State: or(st[0], src.State), StateClass: st[1],
		Since: ago(src.Since, now), LastSuccess: ago(src.LastSuccess, now), LastError: src.LastError}
	if src.State == StateRunning && !src.Ready {
		ps.State, ps.StateClass = "运行中，有邮件夹未连接", "warn"
	}
	if len(src.Parts) > 0 && src.State == StateRunning {
		ps.LastError = "" // each mailbox shows its own
	}
	if src.LastError != "" && !src.LastErrorAt.IsZero() && src.State != StateRunning {
		ps.LastError = ago(src.LastErrorAt, now) + "：" + src.LastError
	}
	if len(src.Parts) > 0 {
		ps.Lag = span(src.Lag)
	}
	for _, part := range src.Parts {
		pp := pagePart{Name: part.Name, LastSuccess: ago(part.LastSuccess, now), LastError: part.LastError, Lag: span(part.Lag)}
		switch {
		case part.Connected && part.Idle:
			pp.State, pp.StateClass = "已连接（IDLE 推送）", "ok"
		case part.Connected:
			pp.State, pp.StateClass = "已连接（轮询）", "ok"
		default:
			pp.State, pp.StateClass = "未连接", "bad"
		}
		if part.Connected {
			pp.LastError = ""
		}
		ps.Parts = append(ps.Parts, pp)
	}
	return ps
}

// valueLabel is the Chinese name of a stored value of attr.
func valueLabel(attr, v string) string {
	var l interface{ Label() string }
	var err error
	switch attr {
	case "channel":
		l, err = demand.ParseChannel(v)
	case "type":
		l, err = demand.ParseType(v)
	case "status":
		l, err = demand.ParseStatus(v)
	default:
		return v
	}
	if err != nil || v == "" {
		return or(v, "（未知）")
	}
	return l.Label()
}

func stamp(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(loc).Format("2006-01-02 15:04:05")
}

// ago says how long before now t was, the way a person says it.
func ago(t, now time.Time) string {
	if t.IsZero() {
		return "从未"
	}
	d := now.Sub(t)
	switch {
	case d < 10*time.Second:
		return "刚刚"
	case d < time.Minute:
		return fmt.Sprintf("%d 秒前", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d 分钟前", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d 小时前", int(d.Hours()))
	default:
		return fmt.Sprintf("%d 天前", int(d.Hours()/24))
	}
}

// span writes a duration in Chinese units.
func span(d time.Duration) string {
	switch {
	case d <= 0:
		return "0 秒"
	case d < time.Minute:
		return fmt.Sprintf("%d 秒", int(d.Round(time.Second).Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d 分钟", int(d.Minutes()))
	default:
		return fmt.Sprintf("%.1f 小时", d.Hours())
	}
}

func or(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}
