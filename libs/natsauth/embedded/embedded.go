// Package embedded turns natsauth's table into the users of an embedded
// nats-server (tests, the dev stack). It is apart from natsauth so the
// services, which only dial, do not link the server.
package embedded

import (
	"fmt"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/tokenmeter/tokenmeter/libs/natsauth"
)

// Users are the server users for the identities whose public nkeys pubs
// holds, each with its permissions from natsauth.
func Users(pubs map[string]string) ([]*server.NkeyUser, error) {
	users := make([]*server.NkeyUser, 0, len(pubs))
	for _, name := range natsauth.Names() {
		pub, ok := pubs[name]
		if !ok {
			continue
		}
		p := natsauth.PermissionsOf(name)
		users = append(users, &server.NkeyUser{
			Nkey: pub,
			Permissions: &server.Permissions{
				Publish:   &server.SubjectPermission{Allow: p.Publish, Deny: p.DenyPublish},
				Subscribe: &server.SubjectPermission{Allow: p.Subscribe},
			},
		})
	}
	if len(users) != len(pubs) {
		return nil, fmt.Errorf("nats users: %d of %d identities are unknown", len(pubs)-len(users), len(pubs))
	}
	return users, nil
}

// Secure sets opts to admit only users, no anonymous client.
func Secure(opts *server.Options, users []*server.NkeyUser) {
	opts.Nkeys = users
	opts.NoAuthUser = ""
}
