package main

import (
	"fmt"

	"google.golang.org/grpc"

	"github.com/tokenmeter/tokenmeter/libs/email"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/tools/devstack"
)

func v1Ledger(c *grpc.ClientConn) v1.LedgerServiceClient { return v1.NewLedgerServiceClient(c) }

func printWelcome(s *devstack.Stack, stateDir, natsURL, chAddr, chDB string) {
	fmt.Printf(`
tokenmeter is running (Ctrl-C stops it; data is kept in %s/)

  console    %s   (sign in with the admin key %s)

  ingestion  %s   (launcher API; key %s for team "design")
             http://%s   (the same API as HTTP/JSON)
  ledger     %s   (admin key %s; owner key %s also makes people's
             access keys: go run ./tools/cmd/tokenctl access create viewer)
  reporting  %s
  alerting   %s
  NATS       %s   (JetStream: LEDGER, USAGE, ALERTS; no anonymous access:
             nkey seeds per identity in %s/nats-seeds/, e.g. reader.nk, admin.nk)
  ClickHouse %s   database %s

Try a launch, then the balance (grpcurl is pinned in tools/go.mod; the modules want
the patched Go 1.27.3, so first: export GOTOOLCHAIN=go1.27.3):

  curl -s -H 'Authorization: Bearer %s' \
    -d '{"event_id":"curl-'$(date +%%s%%N)'","team_id":"design","user_id":"bob","product_code":"ACAD"}' \
    http://%s/tokenmeter.v1.IngestionService/Launch

  go tool grpcurl -plaintext -H 'authorization: Bearer %s' \
    -d '{"event_id":"try-'$(date +%%s%%N)'","team_id":"design","user_id":"ann","product_code":"REVIT"}' \
    %s tokenmeter.v1.IngestionService/Launch

  go tool grpcurl -plaintext -H 'authorization: Bearer %s' -d '{"team_id":"design"}' \
    %s tokenmeter.v1.LedgerService/GetBalance

  go tool grpcurl -plaintext -H 'authorization: Bearer %s' -d '{"team_ids":["design"]}' \
    %s tokenmeter.v1.ReportingService/GetUsageByDay

  go tool grpcurl -plaintext -H 'authorization: Bearer %s' -d '{"from_sequence":1}' \
    %s tokenmeter.v1.AlertingService/WatchAlerts

`, stateDir, s.Reporting.ConsoleURL(), devstack.AdminKey,
		s.Ingestion.Addr(), devstack.LauncherKey, s.Ingestion.HTTPAddr(), s.Ledger.Addr(), devstack.AdminKey, devstack.OwnerKey, s.Reporting.Addr(), s.Alerting.Addr(),
		natsURL, stateDir, chAddr, chDB,
		devstack.LauncherKey, s.Ingestion.HTTPAddr(),
		devstack.LauncherKey, s.Ingestion.Addr(), devstack.AdminKey, s.Ledger.Addr(),
		devstack.AdminKey, s.Reporting.Addr(), devstack.AdminKey, s.Alerting.Addr())
}

// printMail says where the mail the stack sends shows up.
func printMail(mail email.Config, ui string) {
	if !mail.Enabled() {
		fmt.Println("  mail       none (-mail-smtp-listen is empty, or mailpit could not be built)")
		return
	}
	fmt.Printf(`  mail       http://%s   (mailpit: every e-mail the stack sends, SMTP %s with AUTH)
             team design's low-balance, expiring-pack, run-out and denial alerts go to
             licences@demo.localhost; a monthly usage summary of design and civil with its
             XLSX to cfo@demo.localhost (sent at once for last month, then each month).
             Add your own: go run ./tools/cmd/tokenctl report schedules create forecast --to you@example.com

`, ui, mail.Addr)
}

func mailUI(o options) string {
	if o.mailSMTP == "" {
		return ""
	}
	return o.mailUI
}
