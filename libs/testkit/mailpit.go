package testkit

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// MailpitVersion is the mailpit module tests and the dev stack run.
const MailpitVersion = "v1.33.1"

// MailpitBinary builds mailpit (a Go module, served by the module proxy)
// once into the user's cache directory and returns its path. It builds
// outside the workspace, so mailpit's dependencies never enter tokenmeter's.
func MailpitBinary(ctx context.Context) (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "tokenmeter", "mailpit-"+MailpitVersion)
	bin := filepath.Join(dir, "mailpit")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	cmd := exec.CommandContext(ctx, "go", "install", "github.com/axllent/mailpit@"+MailpitVersion)
	cmd.Env = append(os.Environ(), "GOWORK=off", "CGO_ENABLED=0", "GOBIN="+tmp, "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install mailpit: %w\n%s", err, out)
	}
	// A rename is atomic: test packages building at once never run half a file.
	if err := os.Rename(filepath.Join(tmp, "mailpit"), bin); err != nil {
		return "", err
	}
	return bin, nil
}

// Mailpit is a mailpit SMTP server on loopback for one test: TLS (STARTTLS
// required, or implicit TLS) with its certificate signed by CA, AUTH
// PLAIN/LOGIN as User with the password in PasswordFile, and its HTTP API
// to read what it received.
type Mailpit struct {
	SMTPAddr, API          string
	CA, User, PasswordFile string
}

// StartMailpit runs mailpit until the test ends; implicit selects TLS from
// the first byte instead of STARTTLS.
func StartMailpit(t testing.TB, implicit bool) *Mailpit {
	t.Helper()
	bin, err := MailpitBinary(t.Context())
	require.NoError(t, err)
	files := Certs(t)
	dir := t.TempDir()
	m := &Mailpit{SMTPAddr: freeAddr(t), CA: files.CA, User: "tokenmeter", PasswordFile: filepath.Join(dir, "smtp-password")}
	api := freeAddr(t)
	m.API = "http://" + api
	const password = "mailpit-test-password"
	require.NoError(t, os.WriteFile(m.PasswordFile, []byte(password+"\n"), 0o600))
	mode := "--smtp-require-starttls"
	if implicit {
		mode = "--smtp-require-tls"
	}
	cmd := exec.Command(bin, "--smtp", m.SMTPAddr, "--listen", api, "--database", filepath.Join(dir, "mailpit.db"),
		"--smtp-tls-cert", files.Cert, "--smtp-tls-key", files.Key, mode, "--disable-version-check", "--quiet")
	cmd.Env = append(os.Environ(), "MP_SMTP_AUTH="+m.User+":"+password)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	require.Eventually(t, func() bool {
		resp, err := http.Get(m.API + "/readyz")
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 20*time.Second, 50*time.Millisecond, "mailpit did not become ready")
	return m
}

func freeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// MailAddress is a name and address as mailpit reports them.
type MailAddress struct {
	Name, Address string
}

// MailSummary is one received message in mailpit's list.
type MailSummary struct {
	ID, MessageID, Subject string
	From                   MailAddress
	To                     []MailAddress
	Attachments            int
}

// MailPart is an attachment of a received message.
type MailPart struct {
	PartID, FileName, ContentType string
	Size                          int
}

// MailMessage is one received message in full.
type MailMessage struct {
	MailSummary
	Text        string
	Attachments []MailPart
}

func (m *Mailpit) get(t testing.TB, path string, into any) []byte {
	t.Helper()
	resp, err := http.Get(m.API + path)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s: %s", path, body)
	if into != nil {
		require.NoError(t, json.Unmarshal(body, into), "GET %s", path)
	}
	return body
}

// Messages lists what mailpit received, newest first.
func (m *Mailpit) Messages(t testing.TB) []MailSummary {
	t.Helper()
	var list struct{ Messages []MailSummary }
	m.get(t, "/api/v1/messages", &list)
	return list.Messages
}

// WaitMessages waits until mailpit holds at least n messages and returns them.
func (m *Mailpit) WaitMessages(t testing.TB, n int, within time.Duration) []MailSummary {
	t.Helper()
	var got []MailSummary
	require.Eventually(t, func() bool {
		got = m.Messages(t)
		return len(got) >= n
	}, within, 50*time.Millisecond, "mailpit received fewer than %d messages", n)
	return got
}

// Message reads one received message.
func (m *Mailpit) Message(t testing.TB, id string) MailMessage {
	t.Helper()
	var msg struct {
		MailSummary
		Text        string
		Attachments []MailPart
	}
	m.get(t, "/api/v1/message/"+id, &msg)
	return MailMessage{MailSummary: msg.MailSummary, Text: msg.Text, Attachments: msg.Attachments}
}

// Part reads the content of one part (an attachment) of a message.
func (m *Mailpit) Part(t testing.TB, id, partID string) []byte {
	t.Helper()
	return m.get(t, "/api/v1/message/"+id+"/part/"+partID, nil)
}
