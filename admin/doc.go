// Package admin is demandd's operations listener ([admin] listen, default
// 127.0.0.1:9090):
//
//   - /healthz answers 200 while the process serves HTTP at all;
//   - /readyz answers 200 when the database answers and is migrated to this
//     binary's schema and every source runs (a mailbox connected, a source
//     whose lease another replica holds counts as served), 503 otherwise;
//     the JSON body names each reason and every source's state;
//   - /metrics is the Prometheus text format from a registry of its own
//     (Metrics), never the global one;
//   - / is the status page for a team lead or operator: one server-rendered
//     page in Chinese, no script and nothing fetched from elsewhere, with
//     every source, today's counts, the quarantine and links to the latest
//     daily reports (served from the report folder under /reports/);
//   - /debug/pprof/ when [admin] pprof = true (loopback only).
//
// Metrics is the engine's Observer (engine.Options.Observer): it counts
// every commit's items by channel, source and outcome and keeps the table
// of sources behind /readyz and the page. It learns about webhook requests
// (WebhookRequest), watchdog pings (WatchdogPing) and leases (SetLease)
// from whoever wires it; mailboxes report their connections through
// Source.Parts when asked. Nothing here imports a channel or cmd: the
// register is read through the Store interface.
package admin
