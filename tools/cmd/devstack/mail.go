package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/email"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/tools/devstack"
)

// mailUser is the dev stack's SMTP user at its mailpit.
const mailUser = "tokenmeter"

// startMailpit runs mailpit (built once from its Go module) for the dev
// stack's mail: SMTP with AUTH on loopback (plaintext, which libs/email
// allows only to loopback), its web UI at ui, messages kept in the state
// directory. It returns the services' SMTP settings and a stop function;
// without a build (offline) the stack runs without e-mail.
func startMailpit(ctx context.Context, o options, log *slog.Logger) (email.Config, func(), error) {
	if o.mailSMTP == "" {
		return email.Config{}, func() {}, nil
	}
	fmt.Println("mail: building mailpit " + testkit.MailpitVersion + " (first run only) ...")
	bin, err := testkit.MailpitBinary(ctx)
	if err != nil {
		log.Warn("no mailpit: alerts and scheduled reports will not be e-mailed", "err", err)
		return email.Config{}, func() {}, nil
	}
	dir, err := filepath.Abs(o.stateDir)
	if err != nil {
		return email.Config{}, nil, err
	}
	passwordFile := filepath.Join(dir, "mailpit-password")
	password, err := keptSecret(passwordFile)
	if err != nil {
		return email.Config{}, nil, err
	}
	cmd := exec.Command(bin, "--smtp", o.mailSMTP, "--listen", o.mailUI, "--database", filepath.Join(dir, "mailpit.db"),
		"--smtp-auth-allow-insecure", "--disable-version-check", "--quiet")
	cmd.Env = append(os.Environ(), "MP_SMTP_AUTH="+mailUser+":"+password)
	logFile, err := os.Create(filepath.Join(dir, "mailpit.log"))
	if err != nil {
		return email.Config{}, nil, err
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return email.Config{}, nil, fmt.Errorf("start mailpit: %w", err)
	}
	stop := func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = logFile.Close()
	}
	if err := waitReady("http://" + o.mailUI + "/readyz"); err != nil {
		stop()
		return email.Config{}, nil, fmt.Errorf("mailpit: %w (see %s)", err, logFile.Name())
	}
	return email.Config{Addr: o.mailSMTP, From: "tokenmeter@dev.localhost", TLS: email.TLSNone,
		User: mailUser, PasswordFile: passwordFile, Auth: "plain"}, stop, nil
}

// keptSecret reads the secret in file, making a random one the first time.
func keptSecret(file string) (string, error) {
	if b, err := os.ReadFile(file); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	s := rand.Text()
	return s, os.WriteFile(file, []byte(s+"\n"), 0o600)
}

func waitReady(url string) error {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("not ready after 15s")
}

// demoAlertMail sends team design's money alerts to its licence office by
// e-mail; set before the demo loads, so that its alerts are mailed too.
func demoAlertMail(ctx context.Context, stack *devstack.Stack) error {
	alerts, err := grpcserver.Dial(stack.Alerting.Addr(), devstack.AdminKey)
	if err != nil {
		return err
	}
	defer alerts.Close()
	if _, err := v1.NewAlertingServiceClient(alerts).SetWebhook(ctx, &v1.SetWebhookRequest{Webhook: &v1.Webhook{
		WebhookId: "licence-office-mail", TeamId: "design", EmailTo: []string{"licences@demo.localhost"},
		Kinds: []string{"low_balance", "pack_expiring", "forecast_run_out", "launch_denied"}}}); err != nil {
		return fmt.Errorf("demo e-mail alerts: %w", err)
	}
	return nil
}

// demoSchedule schedules a monthly usage summary with its XLSX (kept when
// there from an earlier run); made after the demo loads, as its first
// report goes out at once.
func demoSchedule(ctx context.Context, stack *devstack.Stack) error {
	reports, err := grpcserver.Dial(stack.Reporting.Addr(), devstack.AdminKey)
	if err != nil {
		return err
	}
	defer reports.Close()
	_, err = v1.NewReportingServiceClient(reports).CreateReportSchedule(ctx, &v1.CreateReportScheduleRequest{Schedule: &v1.ReportSchedule{
		ScheduleId: "demo-monthly-usage", Report: v1.ScheduledReport_SCHEDULED_REPORT_USAGE_SUMMARY, Period: v1.SchedulePeriod_SCHEDULE_PERIOD_MONTHLY,
		Format: v1.ExportFormat_EXPORT_FORMAT_XLSX, TeamIds: []string{"design", "civil"}, Recipients: []string{"cfo@demo.localhost"}}})
	if status.Code(err) == codes.AlreadyExists {
		return nil
	}
	if err != nil {
		return fmt.Errorf("demo report schedule: %w", err)
	}
	return nil
}
