package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/demandd/demandd/config"
	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/export"
)

// emptyGrace is the folder's empty_grace setting.
func emptyGrace(f config.Folder) time.Duration { return f.EmptyGrace.Duration }

// checkPaths reports folders and files the configuration names that do
// not exist.
func checkPaths(cfg *config.Config) error { return errors.Join(cfg.CheckPaths()...) }

// checkExportFormat refuses an output name whose format is not written,
// before anything is opened.
func checkExportFormat(path string) error {
	if _, err := export.FormatFor(path); err != nil {
		return usageError{fmt.Errorf("--out %w", err)}
	}
	return nil
}

// writeExport writes the tracking table to path, as .xlsx or .csv by its
// extension; the title row describes the filter.
func writeExport(ctx context.Context, a *app, path string, f demand.Filter) (int, error) {
	return export.WriteFile(ctx, path, a.store, f, export.TableOptions{Location: a.cfg.Location(), Locale: a.lang()})
}
