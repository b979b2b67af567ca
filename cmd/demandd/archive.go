package main

import (
	"context"
	"fmt"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/demandd/demandd/archive"
	"github.com/demandd/demandd/internal/i18n"
)

// archiveCmd is `demandd archive --period P [--out FILE]` and `demandd
// archive verify FILE`.
func (c *cli) archiveCmd(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "verify" {
		return c.archiveVerify(ctx, args[1:])
	}
	fs, cfgPath := c.flags("archive")
	periodFlag := fs.String("period", "", i18n.T("归档的期间：月份 YYYY-MM 或日期 YYYY-MM-DD，按接收时间、配置的时区（必填）",
		"the period to archive: a month YYYY-MM or a day YYYY-MM-DD, by time received, in the configured zone (required)").In(c.lang))
	out := fs.String("out", "", i18n.T("要写入的 zip 文件（默认 ./demandd-archive-期间.zip）",
		"the zip file to write (default ./demandd-archive-PERIOD.zip)").In(c.lang))
	rest, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("多余的参数 %q；见 `demandd archive -h`", "unexpected argument %q; see `demandd archive -h`", rest[0])
	}
	if *periodFlag == "" {
		return usagef("必须给出 --period YYYY-MM", "--period YYYY-MM is required")
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	a, err := c.open(ctx, *cfgPath, existingOnly)
	if err != nil {
		return err
	}
	defer a.Close()
	p, err := archive.ParsePeriod(*periodFlag, a.cfg.Location())
	if err != nil {
		return usageError{err}
	}
	path := *out
	if path == "" {
		path = p.FileName()
	}
	opts := archive.Options{Location: a.cfg.Location(), Generator: "demandd " + buildVersion(), Locale: a.lang(),
		FileMode: a.cfg.FileMode.Perm()}
	start := time.Now()
	if c.progress {
		var last time.Time
		opts.Progress = func(items int, bytes int64) {
			if now := time.Now(); now.Sub(last) >= 200*time.Millisecond {
				last = now
				c.archiveProgress(items, bytes, start)
			}
		}
	}
	res, err := archive.Write(ctx, path, a.store, p, opts)
	if c.progress {
		if err == nil {
			c.archiveProgress(res.Raw.Total, res.Bytes, start)
		}
		fmt.Fprintln(c.stderr)
	}
	if err != nil {
		if ctx.Err() != nil {
			return i18n.Errorf("已中断，未写入 %s；再次运行同一条命令即可", "interrupted: %s was not written; run the same command again", path)
		}
		return err
	}
	abs, _ := filepath.Abs(path)
	fmt.Fprintf(c.stdout, "%s\n", i18n.Tf("已写入 %s：%d 条记录，%d 个原始条目（%d 个隔离、%d 个忽略），%.1f MB",
		"wrote %s: %d records, %d raw items (%d quarantined, %d ignored), %.1f MB",
		abs, res.Records, res.Raw.Total, res.Raw.Statuses["quarantined"], res.Raw.Statuses["ignored"], float64(res.Size)/1e6).In(c.lang))
	fmt.Fprintf(c.stdout, "manifest.json SHA-256: %s\n", res.ManifestSHA256)
	return nil
}

// archiveProgress is the progress line on a terminal.
func (c *cli) archiveProgress(items int, bytes int64, start time.Time) {
	secs := max(time.Since(start).Seconds(), 0.001)
	fmt.Fprintf(c.stderr, "\r%s ", i18n.Tf("归档：%d 个原始条目  %.0f MB  %.0f MB/s", "archive: %d raw items  %.0f MB  %.0f MB/s",
		items, float64(bytes)/1e6, float64(bytes)/1e6/secs).In(c.lang))
}

// archiveVerify checks a bundle; it needs no configuration or register.
func (c *cli) archiveVerify(ctx context.Context, args []string) error {
	fs, _ := c.flags("archive verify")
	files, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		return usagef("请给出一个归档包：demandd archive verify 文件.zip", "name one bundle: demandd archive verify FILE.zip")
	}
	rep, err := archive.Verify(ctx, files[0])
	if err != nil {
		return err
	}
	for _, p := range rep.Problems {
		where := p.Path
		if where == "" {
			where = files[0]
		}
		fmt.Fprintf(c.stdout, "%s: %s\n", where, p.Text.In(c.lang))
	}
	if !rep.OK() {
		return i18n.Errorf("%s 未通过校验：%d 处问题（见上）", "%s does not verify: %d problems (listed above)", files[0], len(rep.Problems))
	}
	m := rep.Manifest
	fmt.Fprintf(c.stdout, "%s\n", i18n.Tf("%s 校验通过：%d 个文件与清单一致；期间 %s，%d 条记录，%d 个原始条目；由 %s 生成",
		"%s verifies: %d files match the manifest; period %s, %d records, %d raw items; made by %s",
		files[0], rep.Files, m.Period, m.Records, m.Raw.Total, m.Generator).In(c.lang))
	fmt.Fprintf(c.stdout, "manifest.json SHA-256: %s\n", rep.ManifestSHA256)
	return nil
}
