package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/demandd/demandd/internal/i18n"
	"github.com/demandd/demandd/store"
)

func (c *cli) dedupeCmd(ctx context.Context, args []string) error {
	fs, cfgPath := c.flags("dedupe")
	explain := fs.String("explain", "", i18n.T("编号：说明该需求为何链接到主需求，或为何是主需求",
		"CODE: why the demand is linked to its canonical demand, or why it is canonical").In(c.lang))
	replay := fs.Bool("replay", false, i18n.T("用当前设置对已存需求重跑重复链接，列出会改变的内容",
		"re-run near-duplicate linking over stored demands and report what would change").In(c.lang))
	since := fs.String("since", "", i18n.T("与 --replay 一起：只看该日期（YYYY-MM-DD）及以后收到的需求",
		"with --replay: only demands received on or after this date (YYYY-MM-DD)").In(c.lang))
	apply := fs.Bool("apply", false, i18n.T("与 --replay 一起：写入链接（记入双方历史）",
		"with --replay: write the links (each kept in both demands' history)").In(c.lang))
	if _, err := c.parse(fs, args); err != nil {
		return err
	}
	if (*explain == "") == !*replay {
		return usagef("请给出 --explain 编号 或 --replay 之一", "give --explain CODE or --replay")
	}
	a, err := c.open(ctx, *cfgPath, existingOnly)
	if err != nil {
		return err
	}
	defer a.Close()
	if *explain != "" {
		return c.explainLink(ctx, a, *explain)
	}
	f, err := dateRange(*since, "", a.cfg.Location())
	if err != nil {
		return err
	}
	links, err := a.store.ReplayDedupe(ctx, &a.cfg.Dedupe, f.Since, *apply)
	if err != nil {
		return err
	}
	for _, l := range links {
		fmt.Fprintf(c.stdout, "%s → %s  distance %d  similarity %.2f\n", l.Duplicate, l.Canonical, l.Distance, l.Similarity)
	}
	if *apply {
		fmt.Fprintln(c.stdout, i18n.Tf("已链接 %d 条重复需求", "%d duplicates linked", len(links)).In(c.lang))
	} else {
		fmt.Fprintln(c.stdout, i18n.Tf("将链接 %d 条重复需求（加 --apply 写入）", "%d duplicates would be linked (--apply writes them)", len(links)).In(c.lang))
	}
	return nil
}

func (c *cli) explainLink(ctx context.Context, a *app, code string) error {
	e, err := a.store.Explain(ctx, code)
	if errors.Is(err, store.ErrNotFound) {
		return usagef("没有编号为 %s 的需求", "no demand %s", code)
	}
	if err != nil {
		return err
	}
	if e.Canonical == nil {
		fmt.Fprintln(c.stdout, i18n.Tf("%s 是主需求（出现 %d 次）；重复：%v", "%s is canonical (%d occurrences); duplicates: %v",
			code, e.Record.Occurrences, e.Duplicates).In(c.lang))
	} else {
		fmt.Fprintln(c.stdout, i18n.Tf("%s 是 %s 的重复：SimHash 距离 %d，相似度 %.2f", "%s duplicates %s: SimHash distance %d, similarity %.2f",
			code, e.Canonical.Code, e.Distance, e.Similarity).In(c.lang))
		tab := newTable(c.stdout, c.lang, column{"需求", "demand", 16}, column{"清理后的文本", "cleaned text", 0})
		tab.row(code, e.Cleaned)
		tab.row(e.Canonical.Code, e.CanonicalCleaned)
		if tab.err != nil {
			return tab.err
		}
	}
	for _, h := range e.History {
		fmt.Fprintf(c.stdout, "  %s %s → %s  %s", h.Action, h.Duplicate, h.Canonical, h.Match)
		if h.Match == "simhash" || h.Match == "replay" {
			fmt.Fprintf(c.stdout, "  distance %d  similarity %.2f", h.Distance, h.Similarity)
		}
		if len(h.Urgency) == 2 {
			fmt.Fprintf(c.stdout, "  urgency %s→%s", h.Urgency[0], h.Urgency[1])
		}
		fmt.Fprintln(c.stdout)
	}
	return nil
}

func (c *cli) linkCmd(ctx context.Context, args []string) error {
	fs, cfgPath := c.flags("link")
	rest, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 2 {
		return usagef("用法：demandd link 编号 主需求编号", "usage: demandd link CODE CANONICAL")
	}
	a, err := c.open(ctx, *cfgPath, existingOnly)
	if err != nil {
		return err
	}
	defer a.Close()
	err = a.store.Link(ctx, rest[0], rest[1])
	switch {
	case errors.Is(err, store.ErrSelfLink):
		return usagef("不能把需求链接到它自己", "a demand cannot be linked to itself")
	case errors.Is(err, store.ErrLinkToDuplicate):
		return usageError{i18n.Wrap(err, i18n.Tf("%s 本身是重复需求，请链接到它的主需求（%v）", "%s is itself a duplicate; link to its canonical demand (%v)", rest[1], err))}
	case errors.Is(err, store.ErrAlreadyLinked):
		return usagef("%s 已是重复需求；请先 demandd unlink %s", "%s is already a duplicate; run demandd unlink %s first", rest[0], rest[0])
	case errors.Is(err, store.ErrNotFound):
		return usageError{err}
	case err != nil:
		return err
	}
	fmt.Fprintln(c.stdout, i18n.Tf("%s 已链接到 %s", "%s linked to %s", rest[0], rest[1]).In(c.lang))
	return nil
}

func (c *cli) unlinkCmd(ctx context.Context, args []string) error {
	fs, cfgPath := c.flags("unlink")
	rest, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usagef("用法：demandd unlink 编号", "usage: demandd unlink CODE")
	}
	a, err := c.open(ctx, *cfgPath, existingOnly)
	if err != nil {
		return err
	}
	defer a.Close()
	err = a.store.Unlink(ctx, rest[0], &a.cfg.Dedupe)
	switch {
	case errors.Is(err, store.ErrNotDuplicate):
		return usagef("%s 不是重复需求", "%s is not a duplicate", rest[0])
	case errors.Is(err, store.ErrNotFound):
		return usageError{err}
	case err != nil:
		return err
	}
	fmt.Fprintln(c.stdout, i18n.Tf("%s 已取消链接", "%s unlinked", rest[0]).In(c.lang))
	return nil
}
