package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/demandd/demandd/admin"
	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/ingest"
	"github.com/demandd/demandd/ingest/folder"
	"github.com/demandd/demandd/ingest/imapsrc"
	"github.com/demandd/demandd/ingest/webhook"
	"github.com/demandd/demandd/internal/i18n"
)

// startAdmin lists the sources in the metrics' table and opens the admin
// listener ([admin] listen) unless it is off. The address is bound before
// serve says READY, so that a port in use stops serve at start; the
// channel closes when the listener has stopped.
func (a *app) startAdmin(ctx context.Context, sources []ingest.Source) (<-chan struct{}, error) {
	for _, src := range sources {
		a.metrics.AddSource(describeSource(src, a))
	}
	done := make(chan struct{})
	if !a.cfg.Admin.On() {
		close(done)
		return done, nil
	}
	srv, err := admin.New(a.cfg.Admin, admin.Deps{Store: a.store, Metrics: a.metrics, Rules: a.reloader.Status,
		Reports: a.cfg.ReportOn(), ReportDir: a.cfg.Report.Dir, Location: a.cfg.Location(), Logger: a.log, Version: buildVersion()})
	if err != nil {
		return nil, err
	}
	if err := srv.Listen(); err != nil {
		return nil, usageError{i18n.Wrap(err, i18n.Tf("管理端口无法监听 %s（%v）；端口是否已被占用？请修改 [admin] listen，或写 listen = \"off\" 关闭",
			"cannot listen on %s for the admin listener (%v); is the port in use? change [admin] listen, or set it to \"off\"", a.cfg.Admin.Listen, err))}
	}
	go func() {
		defer close(done)
		if err := srv.Run(ctx); err != nil {
			a.log.Error("admin listener stopped", "err", err)
		}
	}()
	return done, nil
}

// describeSource tells the metrics' table what src is: its channel, the
// source names its items carry and, for an email account, its mailboxes.
func describeSource(src ingest.Source, a *app) admin.Source {
	s := admin.Source{Name: src.Name()}
	switch src := src.(type) {
	case *imapsrc.Source:
		s.Channel = string(demand.ChannelEmail)
		s.Parts = func() []admin.Part {
			var parts []admin.Part
			for _, st := range src.States() {
				parts = append(parts, admin.Part{Name: st.Mailbox, Connected: st.Connected, Idle: st.Idle,
					LastSuccess: st.LastSuccess, LastError: st.LastError, Lag: st.Lag})
			}
			return parts
		}
	case *folder.Source:
		s.Channel = string(demand.ChannelQuestionnaire)
	case *webhook.Server:
		s.Channel = string(demand.ChannelWebhook)
		for _, sc := range a.cfg.Webhook.Sources {
			s.Items = append(s.Items, sc.Name)
		}
	}
	return s
}

// watchdog pings systemd's watchdog while the database answers, so that a
// daemon that lost its database is restarted rather than silently idle.
// A lost and a regained database are logged once each, not at every tick.
func (a *app) watchdog(ctx context.Context) {
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil || interval == 0 {
		return
	}
	t := time.NewTicker(interval / 2)
	defer t.Stop()
	down := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			pctx, cancel := context.WithTimeout(ctx, interval/4)
			err := a.store.Ping(pctx)
			cancel()
			if ctx.Err() != nil {
				return
			}
			a.metrics.WatchdogPing(err == nil)
			switch {
			case err != nil && !down:
				down = true
				a.log.Error("database does not answer; withholding the watchdog ping until it does", "err", err)
				_, _ = daemon.SdNotify(false, "STATUS=database does not answer; watchdog ping withheld")
			case err == nil && down:
				down = false
				a.log.Info("database answers again; watchdog ping resumed")
				_, _ = daemon.SdNotify(false, "STATUS=serving")
			}
			if err == nil {
				_, _ = daemon.SdNotify(false, daemon.SdNotifyWatchdog)
			}
		}
	}
}

// requestIDs adds the id of the webhook listener's request a log call is
// about (its context), so that the API's lines carry it as the webhook's
// do.
type requestIDs struct{ slog.Handler }

func (h requestIDs) Handle(ctx context.Context, r slog.Record) error {
	if id := webhook.RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDs) WithAttrs(as []slog.Attr) slog.Handler {
	return requestIDs{h.Handler.WithAttrs(as)}
}
func (h requestIDs) WithGroup(name string) slog.Handler { return requestIDs{h.Handler.WithGroup(name)} }
