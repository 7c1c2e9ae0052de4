package tokenctl

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/tokenmeter/tokenmeter/libs/auth"
)

// keysStaticCommand makes a key for a service's static keyring offline: the
// secret goes to whoever calls with it, the hashed entry to the keyring.
func (a *app) keysStaticCommand() *cobra.Command {
	var id string
	cmd := &cobra.Command{
		Use:   "static ORG ROLE [TEAM|SERVICE]",
		Short: "Make a static key: a random secret and the hashed keyring entry for -api-keys(-file)",
		Long: `Make a key for a service's static keyring, offline. It prints a random secret
(32 random bytes) and the keyring entry holding only its SHA-256 and a random
key id: put the entry in the keyring of every service the key calls
(-api-keys-file, reloaded on SIGHUP) and the secret with the caller. A service
key names its service: ORG * service ingestion|reporting|ledger.`,
		Example: `  tokenctl keys static acme admin
  tokenctl keys static '*' service reporting --id reporting-2026`,
		Args: cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			entry, secret, err := staticKey(id, args)
			if err != nil {
				return err
			}
			resp, err := structpb.NewStruct(map[string]any{"secret": secret, "keyring_entry": entry})
			if err != nil {
				return err
			}
			t := newTable("SECRET", "KEYRING_ENTRY")
			t.add(secret, entry)
			if a.settings.Output == outputTable {
				fmt.Fprintln(cmd.ErrOrStderr(), "tokenctl: the secret is shown this once and kept nowhere")
			}
			return a.emit(cmd, resp, t)
		},
	}
	cmd.Flags().StringVar(&id, "id", "", "key id (default: 12 random hex digits)")
	return cmd
}

// staticKey draws a secret and returns it with its keyring entry, checked
// by the parser the services use.
func staticKey(id string, args []string) (entry, secret string, err error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", "", err
	}
	secret = "tmk_" + base64.RawURLEncoding.EncodeToString(raw[:])
	if id == "" {
		id = auth.NewKeyID()
	}
	sum := auth.Hash(secret)
	entry = id + "@" + auth.HashPrefix + ":" + hex.EncodeToString(sum[:])
	for _, arg := range args {
		entry += ":" + arg
	}
	if _, err := auth.ParseSpec(entry); err != nil {
		return "", "", err
	}
	return entry, secret, nil
}
