package main

import (
	"syscall"
	"time"

	"github.com/demandd/demandd/internal/i18n"
	"github.com/demandd/demandd/internal/probe"
)

// timeError is adjtimex's TIME_ERROR: the kernel's clock is not kept in
// time by NTP (STA_UNSYNC).
const timeError = 5

// localClock asks the kernel whether NTP keeps this machine's clock in
// time. Only a warning: a clock that is right today may drift.
func localClock() probe.Result {
	name := i18n.T("本机时钟", "local clock")
	var tx syscall.Timex // modes 0: read only
	state, err := syscall.Adjtimex(&tx)
	if err != nil {
		return probe.Skipped("clock.local", name, i18n.Tf("无法询问内核：%v", "cannot ask the kernel: %v", err))
	}
	if state == timeError {
		maxErr := time.Duration(tx.Maxerror) * time.Microsecond
		return probe.Warning("clock.local", name, i18n.Tf("没有由 NTP 同步（内核估计最大误差 %s）", "not synchronised by NTP (the kernel's estimated error is up to %s)", maxErr),
			i18n.T("启用 NTP：chrony 或 systemd-timesyncd（timedatectl set-ntp true）；容器里由宿主机负责",
				"keep it in time with NTP: chrony or systemd-timesyncd (timedatectl set-ntp true); in a container the host does"))
	}
	return probe.Pass("clock.local", name, i18n.T("由 NTP 同步", "synchronised by NTP"))
}
