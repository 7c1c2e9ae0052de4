package tokenctl

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/email"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/tools/devstack"
)

// E-mail alert endpoints and report schedules through tokenctl, with the
// mail read back from a real SMTP server.
func TestMailCommands(t *testing.T) {
	t.Parallel()
	mp := testkit.StartMailpit(t, false)
	s := startStackWith(t, func(o *devstack.Options) {
		o.Mail = email.Config{Addr: mp.SMTPAddr, From: "tokenmeter@dev.test", TLS: email.TLSStartTLS, CA: mp.CA,
			User: mp.User, PasswordFile: mp.PasswordFile, Auth: "plain"}
	})
	env := s.env(t)

	rows := tableRows(t, ok(t, env, "alerts", "webhooks", "set", "design", "licence-office", "--email", "licences@dev.test,cfo@dev.test", "--kind", "low_balance"))
	require.Equal(t, []string{"design", "licence-office", "mailto:licences@dev.test,cfo@dev.test", "low_balance", "-", "-"}, rows[1])
	r := ctl(t, env, "alerts", "webhooks", "set", "design", "x", "--email", "not-an-address")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "email_to")

	rows = tableRows(t, ok(t, env, "report", "schedules", "create", "usage-summary", "--to", "licences@dev.test", "--team", "design", "--format", "xlsx", "--id", "monthly"))
	require.Equal(t, []string{"monthly", "usage-summary", "monthly", "xlsx", "design", "licences@dev.test"}, rows[1][:6])
	got := mp.WaitMessages(t, 1, 20*time.Second)
	msg := mp.Message(t, got[0].ID)
	require.True(t, strings.HasPrefix(msg.Subject, "[tokenmeter] usage summary "), msg.Subject)
	require.True(t, strings.HasSuffix(msg.Attachments[0].FileName, ".xlsx"))
	poll(t, env, func(out string) bool {
		list := csvRows(t, out)
		return len(list) == 2 && list[1][column(t, list[0], "last_state")] == "sent"
	}, "report", "schedules", "list", "-o", "csv")
	var list v1.ListReportSchedulesResponse
	protoOut(t, ok(t, env, "report", "schedules", "list", "-o", "json"), &list)
	require.NotEmpty(t, list.GetSchedules()[0].GetCreatedBy(), "the actor is recorded")
	ok(t, env, "report", "schedules", "delete", "monthly")
	require.Len(t, csvRows(t, ok(t, env, "report", "schedules", "list", "-o", "csv")), 1)
	r = ctl(t, env, "report", "schedules", "delete", "monthly")
	require.Equal(t, 1, r.code)
}
