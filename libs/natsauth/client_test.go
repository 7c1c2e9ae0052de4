package natsauth

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestClientOptions(t *testing.T) {
	dir := t.TempDir()
	pubs, err := WriteSeeds(dir, Ledger)
	require.NoError(t, err)
	require.Regexp(t, `^U[A-Z2-7]{55}$`, pubs[Ledger])
	again, err := WriteSeeds(dir, Ledger)
	require.NoError(t, err)
	require.Equal(t, pubs, again, "an existing seed is kept")

	opts, err := Client{Identity: Ledger, Creds: SeedFile(dir, Ledger)}.Options()
	require.NoError(t, err)
	require.Len(t, opts, 2, "inbox prefix and nkey")

	bogus := filepath.Join(dir, "bogus")
	require.NoError(t, os.WriteFile(bogus, []byte("not a seed"), 0o600))
	_, err = Client{Identity: Ledger, Creds: bogus}.Options()
	require.ErrorContains(t, err, "not a .creds file or an nkey seed file")

	_, err = Client{Identity: "ledger-and-then-some-very-long-name-that-goes-on"}.Options()
	require.ErrorContains(t, err, "want one of")
	require.NotContains(t, err.Error(), "goes-on", "a refused value is quoted by a short prefix")
}

// Each identity's permissions are its grant and nothing else.
func TestPermissionsFollowTheGrant(t *testing.T) {
	p := PermissionsOf(Reporting)
	require.Contains(t, p.Publish, "$JS.API.CONSUMER.MSG.NEXT.LEDGER.>")
	for _, s := range p.Publish {
		require.NotEqual(t, "$JS.API.STREAM.CREATE.LEDGER", s)
		require.NotContains(t, s, "LAUNCHER_KEYS", s)
		require.NotEqual(t, "ledger.>", s)
	}
	require.Equal(t, []string{"_INBOX.reporting.>"}, p.Subscribe)
	require.Equal(t, Permissions{Publish: []string{">"}, Subscribe: []string{">"}}, PermissionsOf(Admin))
	require.Equal(t, []string{Admin, Alerting, Ingestion, Ledger, Reader, Reporting}, Names())
}
