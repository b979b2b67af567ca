package main

import (
	"context"
	"errors"
	"fmt"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/demandd/demandd/classify"
	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/export"
	"github.com/demandd/demandd/internal/i18n"
	daily "github.com/demandd/demandd/report"
)

// report writes the daily report (需求日报) of one day to a file.
func (c *cli) report(ctx context.Context, args []string) error {
	fs, cfgPath := c.flags("report")
	date := fs.String("date", "", i18n.T("报告哪一天（YYYY-MM-DD，按配置的时区；默认昨天）",
		"the day to report on (YYYY-MM-DD in the configured zone; default yesterday)").In(c.lang))
	out := fs.String("out", "", i18n.T("要写入的 .xlsx 文件（默认当前目录下的 需求日报-日期.xlsx）",
		"the .xlsx file to write (default daily-report-DATE.xlsx, 需求日报-DATE.xlsx in Chinese, in the current directory)").In(c.lang))
	send := fs.Bool("send", false, i18n.T("同时按 [report.mail] 和 [smtp] 配置发送邮件", "also mail it as [report.mail] and [smtp] say").In(c.lang))
	if _, err := c.parse(fs, args); err != nil {
		return err
	}
	if *date != "" {
		if _, err := time.Parse(time.DateOnly, *date); err != nil {
			return usagef("--date %q：日期格式应为 YYYY-MM-DD", "--date %q: want a date as YYYY-MM-DD", *date)
		}
	}
	if *out != "" {
		if f, err := export.FormatFor(*out); err != nil || f != export.XLSX {
			return usagef("--out %s：日报只能写成 .xlsx 文件", "--out %s: the daily report is an .xlsx file", *out)
		}
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	a, err := c.open(ctx, *cfgPath, existingOnly)
	if err != nil {
		return err
	}
	defer a.Close()
	loc, now := a.cfg.Location(), time.Now()
	day := now.In(loc).AddDate(0, 0, -1)
	if *date != "" {
		day, _ = time.ParseInLocation(time.DateOnly, *date, loc) // checked above
	}
	if *out == "" {
		*out = export.ReportFileName(day, a.lang())
	}
	var mailer *daily.Mailer
	if *send {
		if mailer, err = a.reportMailer(); err != nil {
			return err
		}
	}
	opts, err := a.reportOptions(ctx, day, now)
	if err != nil {
		return err
	}
	start := time.Now()
	if c.progress {
		opts.Progress = func(sheet string, rows int) {
			rate := float64(rows) / max(time.Since(start).Seconds(), 0.001)
			fmt.Fprintf(c.stderr, "\r%s  %s %d rows  %.0f rows/s   ", *out, sheet, rows, rate)
		}
	}
	res, err := export.WriteReportFile(ctx, *out, a.store, opts)
	if c.progress {
		fmt.Fprintln(c.stderr)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "wrote the report of %s to %s: %d new, %d open, %d at risk, %d in duplicate groups, %d exceptions\n",
		res.Day.Format(time.DateOnly), *out, res.New, res.Open, res.AtRisk, res.Duplicates, res.Exceptions)
	if mailer == nil {
		return nil
	}
	sum, err := a.reportSummary(ctx, day)
	if err != nil {
		return err
	}
	if err := mailer.Send(ctx, day, *out, sum); err != nil {
		return i18n.Wrap(err, i18n.Tf("日报已写入 %s，但邮件没有发出：%v；请检查 [smtp] 配置后用 --send 重试",
			"the report is in %s but the mail was not sent: %v; check [smtp] and run again with --send", *out, err))
	}
	fmt.Fprintf(c.stdout, "mailed it to %s\n", strings.Join(a.cfg.Report.Mail.To, ", "))
	return nil
}

// reportMailer is the mailer of [report.mail] through [smtp], or why
// there is none.
func (a *app) reportMailer() (*daily.Mailer, error) {
	m := a.cfg.Report.Mail
	if !m.Enabled || len(m.To) == 0 || a.cfg.SMTP.Host == "" {
		return nil, usagef("--send 需要配置 [report.mail]（enabled = true、to、from）和 [smtp]",
			"--send needs [report.mail] (enabled = true, to, from) and [smtp] in the configuration")
	}
	mailer, err := daily.NewMailer(a.cfg.SMTP, m, a.lang())
	if err != nil {
		return nil, usageError{err}
	}
	return mailer, nil
}

// reportOptions are the options of day's report made now: the configured
// zone, language, calendar and file mode, and the latest earlier report
// whose mail was given up, which 概览 mentions.
func (a *app) reportOptions(ctx context.Context, day, now time.Time) (export.ReportOptions, error) {
	loc := a.cfg.Location()
	cal, err := classify.NewCalendar(loc, a.cfg.Classify.Holidays, a.cfg.Classify.Workdays)
	if err != nil {
		return export.ReportOptions{}, usageError{err}
	}
	opts := export.ReportOptions{Day: day, Location: loc, Now: now, Locale: a.lang(), AddWorkdays: cal.AddWorkdays,
		FileMode: a.cfg.FileMode.Perm()}
	failed, err := a.store.ReportDeliveryFailures(ctx, day.In(loc).Format(time.DateOnly))
	if err != nil {
		return opts, err
	}
	if len(failed) > 0 {
		d, _ := time.ParseInLocation(time.DateOnly, failed[0].Day[:min(len(failed[0].Day), 10)], loc)
		opts.PreviousMail = &export.MailResult{Day: d, Failed: true, Error: failed[0].DeliveryError}
	}
	return opts, nil
}

// renderReport writes day's report to path: what the scheduler calls.
func (a *app) renderReport(ctx context.Context, day time.Time, path string) error {
	opts, err := a.reportOptions(ctx, day, time.Now())
	if err != nil {
		return err
	}
	_, err = export.WriteReportFile(ctx, path, a.store, opts)
	return err
}

// reportSummary is what the report's mail says: the day's new demands, the
// open and overdue ones now, and the three most urgent open demands.
func (a *app) reportSummary(ctx context.Context, day time.Time) (daily.Summary, error) {
	loc := a.cfg.Location()
	opts, err := a.reportOptions(ctx, day, time.Now())
	if err != nil {
		return daily.Summary{}, err
	}
	start, end := demand.DayBounds(day, loc)
	q := demand.ReportQuery{Start: start, End: end, Now: opts.Now, SoonBy: opts.AddWorkdays(opts.Now, 2), Location: loc}
	ds, err := a.store.ReportSummary(ctx, q)
	if err != nil {
		return daily.Summary{}, err
	}
	sum := daily.Summary{New: ds.New, Open: ds.Open, Overdue: ds.OpenOverdue}
	err = a.store.EachAtRisk(ctx, q, func(r demand.AtRisk) error {
		if len(sum.MostUrgent) == 3 {
			return errEnough
		}
		sum.MostUrgent = append(sum.MostUrgent, daily.Urgent{Code: r.Record.Code, Title: r.Record.Description.Summary(), Due: r.Record.DueAt})
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		return daily.Summary{}, err
	}
	return sum, nil
}

// errEnough stops an iteration that has what it needs.
var errEnough = errors.New("enough")
