// Package report writes the daily report (需求日报) on a schedule and
// mails it. It owns the [report], [report.mail] and [smtp] configuration
// blocks; the workbook itself is drawn by a render function it is given.
//
// # Daily report (需求日报)
//
// With a [report] block, `demandd serve` writes a workbook every day at
// daily_at (in the configured time zone) into dir, and mails it when
// [report.mail] is enabled:
//
//	[report]
//	daily_at  = "08:00"         # HH:MM, the configured time zone
//	covers    = "previous_day"  # or "same_day" for an evening report
//	dir       = "reports"       # relative to the config file
//	keep_days = 90              # older report files are removed; -1 keeps all
//	# enabled = false           # keeps the block, stops the report
//
//	[report.mail]
//	enabled        = true
//	to             = ["产品团队 <product@example.com>"]
//	cc             = ["boss@example.com"]
//	from           = "demandd <demandd@example.com>"
//	subject_prefix = "[demandd] "
//
//	[smtp]
//	host     = "smtp.example.com"
//	tls      = "implicit"       # port 465; "starttls" 587; "none" 25
//	auth     = "plain"          # or "login", "none"
//	username = "demandd@example.com"
//	password_file = "/run/credentials/demandd.service/smtp"  # or password, password_env
//	timeout  = "1m"
//
// The workbook is named 需求日报-YYYY-MM-DD.xlsx (daily-report-YYYY-MM-DD.xlsx
// with locale = "en") after the day it covers: with covers = "previous_day"
// the report written on 28 November at 08:00 is 需求日报-2026-11-27.xlsx;
// with "same_day" it covers the day it is written on, up to daily_at. It is
// written under a hidden temporary name and renamed into place, with the
// configured file_mode, so nobody — the mail included — sees half a
// workbook.
//
// Once a day, whatever runs: several `serve` processes may share one
// PostgreSQL register; the report_runs table holds one row per day, and
// the process that inserts it writes that day's report. A process that
// dies holding a day loses it when its one-hour lease runs out and
// another process (or itself, restarted) takes the day over. A report
// that failed is retried — after 1 minute, then 2, 4… up to an hour
// between attempts — and never written twice once it is done.
//
// After a stop, `serve` catches up: every day not yet written, oldest
// first, one report each, from the earliest report on
// record (or from the first demand's day on a new register; nothing
// before there is a demand) but no further back than 30 days, or
// keep_days if fewer. Days older than that are not written; run
// `demandd report` for them.
//
// The mail's subject says the day's numbers ("需求日报 2026-11-28：新增 12，
// 未关闭 40，超期 3"), its body names the three most urgent open demands,
// and the workbook is attached under its Chinese name in both RFC 2231
// (filename*) and RFC 2047 (filename, name) forms, so that Outlook,
// Foxmail and webmail all show it. The mail is marked Auto-Submitted, so
// auto-replies — and demandd's own email intake — leave it alone. A
// refused or unreachable SMTP server is tried 5 times (1, 2, 4 and 8
// minutes apart); then the delivery is recorded as failed in report_runs
// and the next report's mail (and 概览) says which reports did not
// arrive. A report the server accepted is never sent again.
package report
