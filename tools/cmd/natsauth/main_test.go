package main

import (
	"bytes"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/testkit"
)

// The admin brings every stream to today's configuration (that a service
// identity may not is libs/natsauth's TestOwnersCannotRepublishIntoOthersSubjects).
func TestProvisionAsAdmin(t *testing.T) {
	url, _ := testkit.NATS(t)
	var out bytes.Buffer
	require.NoError(t, run([]string{"-url", url, "-creds", testkit.Creds(t, url, "admin"), "provision"}, &out))
	require.Contains(t, out.String(), "provisioned")
	js, err := jetstream.New(testkit.Connect(t, url, "admin"))
	require.NoError(t, err)
	for _, name := range []string{"LEDGER", "USAGE", "ALERTS"} {
		_, err := js.Stream(t.Context(), name)
		require.NoError(t, err, name)
	}
}
