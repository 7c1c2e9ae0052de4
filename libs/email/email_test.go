package email_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/email"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
)

func senderFor(t *testing.T, mp *testkit.Mailpit, mode string) *email.Sender {
	t.Helper()
	s, err := email.New(email.Config{Addr: mp.SMTPAddr, From: "tokenmeter@example.test", TLS: mode, CA: mp.CA,
		User: mp.User, PasswordFile: mp.PasswordFile, Auth: "plain"})
	require.NoError(t, err)
	return s
}

// Both TLS modes deliver through a real SMTP server with authentication,
// and the mail read back has its subject, recipients and attachment.
func TestSendThroughMailpit(t *testing.T) {
	for _, mode := range []string{email.TLSStartTLS, email.TLSImplicit} {
		t.Run(mode, func(t *testing.T) {
			mp := testkit.StartMailpit(t, mode == email.TLSImplicit)
			err := senderFor(t, mp, mode).Send(t.Context(), email.Message{
				To: []string{"ops@example.test", "cfo@example.test"}, Subject: "usage " + mode, Text: "see attached",
				MessageID:   "report-1@tokenmeter",
				Attachments: []email.Attachment{{Name: "usage.csv", ContentType: "text/csv", Data: []byte("day,tokens\n2026-11-01,7\n")}},
			})
			require.NoError(t, err)
			got := mp.WaitMessages(t, 1, 10*time.Second)
			require.Len(t, got, 1)
			msg := mp.Message(t, got[0].ID)
			require.Equal(t, "usage "+mode, msg.Subject)
			require.Equal(t, "report-1@tokenmeter", msg.MessageID)
			require.ElementsMatch(t, []string{"ops@example.test", "cfo@example.test"}, addresses(msg.To))
			require.Contains(t, msg.Text, "see attached")
			require.Len(t, msg.Attachments, 1)
			require.Equal(t, "usage.csv", msg.Attachments[0].FileName)
			require.Equal(t, "day,tokens\n2026-11-01,7\n", string(mp.Part(t, msg.ID, msg.Attachments[0].PartID)))
		})
	}
}

func addresses(list []testkit.MailAddress) []string {
	out := make([]string, 0, len(list))
	for _, a := range list {
		out = append(out, a.Address)
	}
	return out
}

// A wrong password and a server whose certificate is not trusted both fail:
// nothing is sent unauthenticated or to an unverified server.
func TestSendRefusedWithoutTrustOrPassword(t *testing.T) {
	mp := testkit.StartMailpit(t, false)
	msg := email.Message{To: []string{"ops@example.test"}, Subject: "x", Text: "x"}
	untrusted, err := email.New(email.Config{Addr: mp.SMTPAddr, From: "tm@example.test", TLS: email.TLSStartTLS,
		User: mp.User, PasswordFile: mp.PasswordFile, Auth: "login"})
	require.NoError(t, err)
	require.Error(t, untrusted.Send(t.Context(), msg), "the system roots do not trust the test CA")
	wrong := mp.PasswordFile + ".wrong"
	require.NoError(t, writeFile(wrong, "not-the-password"))
	bad, err := email.New(email.Config{Addr: mp.SMTPAddr, From: "tm@example.test", TLS: email.TLSStartTLS, CA: mp.CA,
		User: mp.User, PasswordFile: wrong, Auth: "login"})
	require.NoError(t, err)
	require.Error(t, bad.Send(t.Context(), msg))
	require.Empty(t, mp.Messages(t))
}

func TestValidate(t *testing.T) {
	ok := email.Config{Addr: "smtp.example.test:587", From: "tm@example.test", TLS: email.TLSStartTLS, Auth: "plain"}
	require.NoError(t, ok.Validate())
	require.NoError(t, email.Config{}.Validate(), "no address: no mail, nothing to check")
	cases := map[string]func(c *email.Config){
		"smtp-addr":                 func(c *email.Config) { c.Addr = "smtp.example.test" },
		"smtp-from":                 func(c *email.Config) { c.From = "not an address" },
		"smtp-tls":                  func(c *email.Config) { c.TLS = "ssl" },
		"smtp-auth":                 func(c *email.Config) { c.Auth = "cram-md5" },
		"go together":               func(c *email.Config) { c.User = "u" },
		"in the clear only to a lo": func(c *email.Config) { c.TLS, c.User, c.PasswordFile = email.TLSNone, "u", "/p" },
	}
	for want, change := range cases {
		c := ok
		change(&c)
		err := c.Validate()
		require.Error(t, err, want)
		require.Contains(t, err.Error(), want)
	}
	loopback := ok
	loopback.Addr, loopback.TLS, loopback.User, loopback.PasswordFile = "127.0.0.1:1025", email.TLSNone, "u", "/p"
	require.NoError(t, loopback.Validate(), "plaintext auth to a loopback relay is allowed")
}

func TestCheckRecipients(t *testing.T) {
	require.NoError(t, email.CheckRecipients([]string{"a@example.test", "b@example.test"}))
	long := strings.Repeat("a", 250) + "@example.test"
	for _, bad := range [][]string{
		nil,
		{"Ops <ops@example.test>"},
		{"ops"},
		{"a@example.test", "a@example.test"},
		{long},
		strings.Split(strings.Repeat("x@example.test,", 11)+"y@example.test", ","),
	} {
		require.Error(t, email.CheckRecipients(bad), "%q", bad)
	}
	err := email.CheckRecipients([]string{strings.Repeat("z", 200)})
	require.Error(t, err)
	require.Less(t, len(err.Error()), 120, "quotes only a prefix")
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o600) }
