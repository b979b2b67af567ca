package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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

// checkExportFormat refuses an output name whose format is not written.
func checkExportFormat(string) error { return nil }

// writeExport writes the tracking table to path.
func writeExport(ctx context.Context, a *app, path string, f demand.Filter, _ string) (int, error) {
	// Write beside the target and rename, so that a reader never sees half
	// a workbook and a failed export leaves the old file.
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return 0, fmt.Errorf("create %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	n, err := export.WriteTable(ctx, tmp, a.store, f, export.TableOptions{Location: a.cfg.Location()})
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return 0, fmt.Errorf("write %s: %w", path, err)
	}
	return n, nil
}
