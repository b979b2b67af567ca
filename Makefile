VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
GO      ?= go
LDFLAGS := -s -w -X main.version=$(VERSION)
LEASE_TTL ?= 3s
# runs per throughput benchmark: the gates compare medians (make bench BENCH_COUNT=1 for a quick look)
BENCH_COUNT ?= 3

.PHONY: chaos bench-failover bench-archive bench-dedupe bench-idle bench-roundtrip bench-webhook bench-xls build verify-unit run test lint licenses bench bench-imap bench-check bench-hostile bench-report clean

build: ## the one binary
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o demandd ./cmd/demandd

run: ## the daemon on embedded SQLite, watching ./inbox (data in ./data); writes ./demandd.toml from the example the first time
	@test -f demandd.toml || { $(GO) run ./cmd/demandd config example > demandd.toml.tmp && mv demandd.toml.tmp demandd.toml && echo "wrote demandd.toml (edit it to taste)"; }
	$(GO) run ./cmd/demandd serve --config demandd.toml

test: ## every test; PostgreSQL is found or started by internal/testdb
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 15m ./...

licenses: ## the licence of every module linked into the binary; fails on GPL/AGPL/LGPL or an unread licence (make test checks the same)
	$(GO) run ./internal/licenses/cmd ./cmd/demandd

lint:
	@test -z "$$(gofmt -l .)" || (gofmt -l . && exit 1)
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@latest ./...

bench: ## classify 1 KB texts; import 10k/100k rows into PostgreSQL and export them beside bare excelize (saved in bench.out); the ratios last
	$(GO) test -run '^$$' -bench 'Classify' -cpu 1 -benchtime 2s ./classify/
	$(GO) test -run '^$$' -bench '^Benchmark(Import|Export|Bare)$$' -benchtime 1x -count $(BENCH_COUNT) -timeout 60m ./cmd/demandd/ | tee bench.out
	@$(GO) run ./internal/benchgate/cmd bench.out

bench-dedupe: ## near-duplicate linking over 10,000 and 1,000,000 stored demands: store batches (rows/s, p99 per batch) and a 10,000-row import, on and off
	$(GO) test -run '^$$' -bench DedupeLookup -benchtime 20x -timeout 30m ./store/ | grep -E '^Benchmark'
	$(GO) test -run '^$$' -bench ImportDedupe -benchtime 1x -timeout 30m ./cmd/demandd/ | grep -E '^Benchmark'

bench-roundtrip: ## a 100,000-row tracking table with 5% of its rows edited back through `demandd import`, beside the questionnaire import of the same run: rows/s, their ratio, peak RSS
	$(GO) test -run '^$$' -bench RoundTrip100k -benchtime 1x -timeout 30m -v ./cmd/demandd/ | grep -E 'Benchmark|questionnaire import:|export:|round trip:'

bench-imap: ## 20,000 messages from a local Dovecot into PostgreSQL, beside mbsync and a bare fetch+parse (saved in bench-imap.out); the ratios last
	$(GO) test -run '^$$' -bench '^BenchmarkIMAP$$' -benchtime 1x -count $(BENCH_COUNT) -timeout 90m ./cmd/demandd/ | tee bench-imap.out
	@$(GO) run ./internal/benchgate/cmd bench-imap.out

bench-check: ## fails when a ratio of the last make bench / make bench-imap (bench.out, bench-imap.out) is below its target, or has no figures
	@$(GO) run ./internal/benchgate/cmd -check bench.out bench-imap.out

bench-webhook: ## 20,000 signed deliveries from a second process into PostgreSQL, beside pgbench's single-INSERT commits/s
	@if command -v pgbench >/dev/null && psql -h 127.0.0.1 -U postgres -Atc 'SELECT 1' postgres >/dev/null 2>&1; then \
	  psql -h 127.0.0.1 -U postgres -qc 'DROP DATABASE IF EXISTS demandd_pgbench' -c 'CREATE DATABASE demandd_pgbench' postgres && \
	  psql -h 127.0.0.1 -U postgres -qc 'CREATE TABLE t (id bigserial PRIMARY KEY, v text)' demandd_pgbench && \
	  echo "INSERT INTO t (v) VALUES ('x');" > /tmp/demandd-pgbench.sql && \
	  echo "pgbench reference: one INSERT per commit, 16 clients, 10 s:" && \
	  pgbench -h 127.0.0.1 -U postgres -n -c 16 -j 2 -T 10 -f /tmp/demandd-pgbench.sql demandd_pgbench 2>/dev/null | grep -E '^(tps|latency average)'; \
	  psql -h 127.0.0.1 -U postgres -qc 'DROP DATABASE demandd_pgbench' postgres; \
	else echo "no pgbench or no PostgreSQL on 127.0.0.1:5432: no reference figure"; fi
	$(GO) test -run '^$$' -bench Intake -benchtime 20000x -count 3 -timeout 30m ./ingest/webhook/ | grep -E 'Benchmark|deliveries'

bench-report: ## the daily report over 100,000 demands in PostgreSQL (3,000 on the day, 20,000 open): time and peak RSS, beside a bare excelize stream write
	$(GO) test -run '^$$' -bench Report100k -benchtime 1x -timeout 30m -v ./cmd/demandd/ | grep -E 'Benchmark|report:|bare|seeded'

bench-hostile: ## serve over zip bombs, odd line endings, bad bytes, links: where each file ended, its message, peak RSS, rows
	$(GO) test -run '^$$' -bench Hostile -benchtime 1x -timeout 60m -v ./cmd/demandd/ | grep -E 'Benchmark|→'

bench-archive: ## 50,000 raw emails of ~20 KB (~1 GB) in PostgreSQL archived by demandd archive: MB/s and peak RSS, beside zip -r of the same files
	$(GO) test -run '^$$' -bench Archive50k -benchtime 1x -timeout 60m -v ./cmd/demandd/ | grep -E 'Benchmark|→|verify'

bench-xls: ## the two 800-row 问卷星 .xls exports read whole: rows/s of demandd's reader (and of the folder channel's rows), beside xlrd's on the same files when /usr/bin/python3 has it (apt-get install python3-xlrd)
	$(GO) test -run '^$$' -bench XLS -benchtime 2s -v ./ingest/folder/biff/ ./ingest/folder/ | grep -E 'Benchmark|xlrd '

chaos: ## the fault run (also in make test): 3 serve processes on one PostgreSQL, 20 SIGKILLs, PostgreSQL and Dovecot restarted mid-ingest; sent, stored, lost, twice, recovery times
	@log=$$(mktemp); $(GO) test -run '^TestChaos$$' -count=1 -v -timeout 15m ./cmd/demandd/ >$$log 2>&1; status=$$?; \
	  grep -E '^(chaos|  [a-zA-Z])|chaos_test|^(--- |ok|FAIL|PASS)' $$log; rm -f $$log; exit $$status

bench-failover: ## failover time, 10 runs over 3 serve processes (lease_ttl 3s or LEASE_TTL=15s, poll 1s): SIGKILL of the mailbox's lease holder → first mail committed by another
	@log=$$(mktemp); DEMANDD_FLEET_LEASE_TTL=$(LEASE_TTL) $(GO) test -run '^$$' -bench Failover -benchtime 1x -count=1 -v -timeout 15m ./cmd/demandd/ >$$log 2>&1; status=$$?; \
	  grep -E 'Benchmark|failover' $$log; rm -f $$log; exit $$status

IDLE ?= 1h
bench-idle: ## resident memory of an idle serve (3 mailboxes polled, 2 folders, /metrics scraped) over IDLE (default 1h; IDLE=10m for a quick look): per minute, peak, slope
	$(GO) test -run '^$$' -bench IdleRSS -benchtime 1x -timeout 0 -v ./cmd/demandd/ -args -idle=$(IDLE) | grep -E 'Benchmark|idle|seeded'

verify-unit: ## systemd-analyze verify deploy/demandd.service, its ExecStart pointed at a binary built here
	@command -v systemd-analyze >/dev/null || { echo "no systemd-analyze: apt-get install systemd"; exit 1; }
	@d=$$(mktemp -d) && $(GO) build -o $$d/demandd ./cmd/demandd && \
	  sed "s#/usr/local/bin/demandd#$$d/demandd#g" deploy/demandd.service > $$d/demandd.service && \
	  out=$$(systemd-analyze verify $$d/demandd.service 2>&1); rc=$$?; rm -rf $$d; \
	  if [ $$rc -ne 0 ] || [ -n "$$out" ]; then echo "$$out"; exit 1; fi; echo "deploy/demandd.service: verified"

clean:
	rm -f demandd
