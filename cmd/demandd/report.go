package main

import (
	"context"
	"fmt"
	"os/signal"
	"syscall"
	"time"

	"github.com/demandd/demandd/classify"
	"github.com/demandd/demandd/export"
	"github.com/demandd/demandd/internal/i18n"
)

// report writes the daily report (需求日报) of one day to a file.
func (c *cli) report(ctx context.Context, args []string) error {
	fs, cfgPath := c.flags("report")
	date := fs.String("date", "", i18n.T("报告哪一天（YYYY-MM-DD，按配置的时区；默认昨天）",
		"the day to report on (YYYY-MM-DD in the configured zone; default yesterday)").In(c.lang))
	out := fs.String("out", "", i18n.T("要写入的 .xlsx 文件（默认当前目录下的 需求日报-日期.xlsx）",
		"the .xlsx file to write (default daily-report-DATE.xlsx, 需求日报-DATE.xlsx in Chinese, in the current directory)").In(c.lang))
	// sendHook: mailing is wired by the scheduler's work; the flag is
	// parsed so that scripts get a clear answer rather than a usage error.
	send := fs.Bool("send", false, i18n.T("同时按配置发送邮件（尚不可用）", "also mail it to the configured recipients (not available yet)").In(c.lang))
	if _, err := c.parse(fs, args); err != nil {
		return err
	}
	if *send {
		return usagef("--send 尚不可用：请先生成文件，邮件发送将由 [report] 配置提供", "--send is not available yet: write the file; mailing comes with the [report] settings")
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
	cal, err := classify.NewCalendar(loc, a.cfg.Classify.Holidays, a.cfg.Classify.Workdays)
	if err != nil {
		return usageError{err}
	}
	opts := export.ReportOptions{Day: day, Location: loc, Now: now, Locale: a.lang(), AddWorkdays: cal.AddWorkdays,
		FileMode: a.cfg.FileMode.Perm()}
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
	return nil
}
