//go:build !linux

package main

import (
	"github.com/demandd/demandd/internal/i18n"
	"github.com/demandd/demandd/internal/probe"
)

// localClock cannot ask this kernel whether NTP keeps the clock in time.
func localClock() probe.Result {
	return probe.Skipped("clock.local", i18n.T("本机时钟", "local clock"), i18n.T("此系统上无法检查", "cannot be checked on this system"))
}
