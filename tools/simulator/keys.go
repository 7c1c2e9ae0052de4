package simulator

import (
	"context"
	"fmt"

	"github.com/tokenmeter/tokenmeter/libs/launcher"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Keys makes one launcher key per team with an admin's ingestion client,
// and an SDK client on it; Revoke revokes them all.
type Keys struct {
	admin   v1.IngestionServiceClient
	addr    string
	clients map[string]*launcher.Client
	ids     []string
}

// NewKeys uses admin (an IngestionService client with an admin key) and
// dials launchers at addr.
func NewKeys(admin v1.IngestionServiceClient, addr string) *Keys {
	return &Keys{admin: admin, addr: addr, clients: map[string]*launcher.Client{}}
}

// Client returns the team's launcher client, making its key on first use.
func (k *Keys) Client(ctx context.Context, team string) (*launcher.Client, error) {
	if c, ok := k.clients[team]; ok {
		return c, nil
	}
	made, err := k.admin.CreateLauncherKey(ctx, &v1.CreateLauncherKeyRequest{TeamId: team, Label: "simulator"})
	if err != nil {
		return nil, fmt.Errorf("launcher key for %s: %w", team, err)
	}
	k.ids = append(k.ids, made.GetKey().GetKeyId())
	c, err := launcher.New(launcher.Options{Addr: k.addr, APIKey: made.GetSecret()})
	if err != nil {
		return nil, err
	}
	k.clients[team] = c
	return c, nil
}

// Revoke revokes every key made and closes the clients.
func (k *Keys) Revoke(ctx context.Context) {
	for _, id := range k.ids {
		_, _ = k.admin.RevokeLauncherKey(ctx, &v1.RevokeLauncherKeyRequest{KeyId: id})
	}
	for _, c := range k.clients {
		_ = c.Close()
	}
}
