# tokenmeter — `make run` brings the system up with demo data; `make test` runs every test.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
# Debian puts clickhouse-server in /usr/sbin, which a non-root user's PATH lacks.
export PATH := $(PATH):/usr/sbin:/sbin
# The patched Go the go.mod files ask for; the go command fetches it from the module proxy
# once (about 10 s) when the machine's own Go is older.
GOTOOLCHAIN := go1.27.3
export GOTOOLCHAIN

# Every module of the workspace: `./...` stops at module boundaries.
MODULES := $(shell GOTOOLCHAIN=$(GOTOOLCHAIN) go list -m -f '{{.Dir}}')
SERVICES := ingestion ledger reporting alerting
GO_TEST_FLAGS ?= -race -count=1 -timeout 15m
FUZZTIME ?= 1m

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

.PHONY: deps-run deps-test
deps-run: ## install what `make run` needs and the machine lacks (Debian packages)
	@deploy/install-deps.sh run
deps-test: ## install what `make test` needs and the machine lacks (Debian packages)
	@deploy/install-deps.sh test

.PHONY: run
run: deps-run clickhouse ## start ClickHouse, embedded NATS, the four services and demo data; Ctrl-C stops
	go run ./tools/cmd/devstack

.PHONY: test
test: deps-test clickhouse clickhouse-cluster lint proto-lint compose-check console-check console-e2e-deps ## every test of every module, against real NATS and ClickHouse
	@failed=""; for m in $(MODULES); do \
		echo "== go test $${m#$(CURDIR)/}"; \
		(cd $$m && go test $(GO_TEST_FLAGS) ./...) || failed="$$failed $${m#$(CURDIR)/}"; \
	done; \
	if [ -n "$$failed" ]; then echo "make test: failures in:$$failed"; exit 1; fi

.PHONY: bench
bench: clickhouse clickhouse-cluster ## benchmarks, each printed beside the raw component measured in the same run
	@for m in $(MODULES); do \
		(cd $$m && go test -run '^$$' -bench . -benchmem -timeout 30m ./...) || exit 1; \
	done

CHAOS_DURATION ?= 3m

.PHONY: chaos
chaos: clickhouse ## kill every component with SIGKILL under load for CHAOS_DURATION, then check the invariants (tools/chaos)
	cd tools && go test -count=1 -timeout 60m -run '^TestChaos$$' -v ./chaos -args -chaos.duration=$(CHAOS_DURATION)

CLUSTER_DURATION ?= 4m

.PHONY: test-cluster
test-cluster: clickhouse clickhouse-cluster ## kill NATS nodes, ledger, reporting and ClickHouse replicas of the clustered layout in turn under load for CLUSTER_DURATION, then check the invariants (tools/chaos)
	cd tools && go test -count=1 -timeout 60m -run '^TestClusterChaos$$' -v ./chaos -args -cluster.duration=$(CLUSTER_DURATION)

.PHONY: fuzz
fuzz: clickhouse ## run every fuzz target for FUZZTIME each (make test runs only their seed corpora)
	@tools/fuzz.sh "$(FUZZTIME)" $(MODULES)

.PHONY: vuln
vuln: ## govulncheck every module (pinned in tools/go.mod) when vuln.go.dev answers
	@if ! timeout 10 bash -c 'exec 3<>/dev/tcp/vuln.go.dev/443' 2>/dev/null; then \
		echo "vuln: the vulnerability database vuln.go.dev cannot be reached from here; skipped"; exit 0; fi; \
	for m in $(MODULES); do echo "== govulncheck $${m#$(CURDIR)/}"; \
		(cd $$m && go tool -modfile=$(CURDIR)/tools/go.mod govulncheck ./...) || exit 1; done

.PHONY: build
build: ## build the four service binaries, the dev stack and tokenctl into bin/
	@mkdir -p bin
	@for s in $(SERVICES); do CGO_ENABLED=0 go build -trimpath -o bin/$$s ./services/$$s/cmd/$$s; done
	go build -o bin/devstack ./tools/cmd/devstack
	go build -o bin/tokenctl ./tools/cmd/tokenctl

.PHONY: lint
lint: proto-lint ## buf lint and breaking, gofmt, go vet, golangci-lint, no service importing another (nor libs a service), pure cores, generated code equal to its sources, function and file sizes
	@unformatted=$$(gofmt -l $(MODULES)); if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	@for m in $(MODULES); do (cd $$m && go vet ./...) || exit 1; done
	@GOWORK=off go build -C tools/golangci -o $(CURDIR)/.local/bin/golangci-lint github.com/golangci/golangci-lint/v2/cmd/golangci-lint
	@for m in $(MODULES); do echo "== golangci-lint $${m#$(CURDIR)/}"; \
		(cd $$m && $(CURDIR)/.local/bin/golangci-lint run --config $(CURDIR)/.golangci.yml ./...) || exit 1; done
	@tools/lint-shape.sh

CONSOLE_WEB := services/reporting/internal/console/web

.PHONY: console
console: ## rebuild the web console into its embedded assets (commit the result)
	cd $(CONSOLE_WEB) && npm ci --no-audit --no-fund && npm run build

.PHONY: console-check
console-check: ## the committed console assets are what its sources build to
	@cd $(CONSOLE_WEB) && npm ci --no-audit --no-fund --silent
	@out=$$(mktemp -d) && trap 'rm -rf "$$out"' EXIT && \
		(cd $(CONSOLE_WEB) && CONSOLE_OUT="$$out" node build.mjs --quiet) && \
		diff -r "$$out" $(CONSOLE_WEB)/../assets >/dev/null || \
		{ echo "console assets are stale: run 'make console' and commit $(CONSOLE_WEB)/../assets"; exit 1; }

.PHONY: console-e2e-deps
console-e2e-deps: ## playwright-core for the browser tests (the browser is Debian's chromium)
	@cd tools/e2e/console && npm ci --no-audit --no-fund --silent

.PHONY: proto
proto: ## regenerate proto/gen with buf (plugins pinned in tools/go.mod)
	cd proto && go tool buf lint && go tool buf generate

.PHONY: proto-lint
proto-lint: ## buf lint, and buf breaking against the main branch (when the clone has one)
	cd proto && go tool buf lint
	@if git rev-parse --verify -q main >/dev/null; then \
		cd proto && go tool buf breaking --against '../.git#branch=main,subdir=proto'; \
	else echo "proto-lint: no local main branch; buf breaking skipped"; fi

.PHONY: compose-check
compose-check: ## validate docker-compose.yml (no Docker engine needed)
	TOKENMETER_CLICKHOUSE_PASSWORD=compose-check GRAFANA_ADMIN_PASSWORD=compose-check TOKENMETER_USER_HASH_KEY=compose-check \
	$(foreach id,ADMIN ALERTING INGESTION LEDGER READER REPORTING,TOKENMETER_NATS_$(id)_NKEY=compose-check) \
		docker-compose -f docker-compose.yml config -q

.PHONY: clickhouse
clickhouse: ## start the project-local ClickHouse if none answers on 127.0.0.1:19000
	@deploy/clickhouse/dev/start.sh

.PHONY: clickhouse-stop
clickhouse-stop: ## stop the project-local ClickHouse
	@deploy/clickhouse/dev/stop.sh

.PHONY: clickhouse-cluster
clickhouse-cluster: ## start the dev ClickHouse cluster (ZooKeeper, 2 shards x 2 replicas on 127.0.0.1:191SR) if not running
	@deploy/clickhouse/dev/start.sh --cluster

.PHONY: clickhouse-cluster-stop
clickhouse-cluster-stop: ## stop the dev ClickHouse cluster (keeps its data)
	@deploy/clickhouse/dev/stop.sh --cluster

.PHONY: clean
clean: ## remove built binaries (keeps .local data)
	rm -rf bin
