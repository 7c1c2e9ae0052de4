// Package oidcprovider runs a real OpenID Connect provider in process for
// tests of the console's single sign-on: zitadel/oidc's provider (package
// op) with the library's own in-memory example storage and login page, and
// people whose ID tokens carry the claims a test gives them.
package oidcprovider

import (
	"context"
	"net"
	"net/http/httptest"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Person is someone who can sign in at the provider.
type Person struct {
	ID, Username, Password, Name string
	// Claims are added to the person's ID token (organisation, role …).
	Claims map[string]any
}

// Provider is a running provider.
type Provider struct {
	// Issuer is the provider's issuer URL (http on loopback).
	Issuer string
}

// Start serves a provider on loopback until the test ends, with one web
// client (code flow, PKCE, HTTP Basic client authentication).
func Start(t testing.TB, clientID, clientSecret, redirectURL string, people ...Person) *Provider {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + lis.Addr().String()
	users := userStore{}
	for _, p := range people {
		users[p.ID] = p
	}
	st := &withClaims{
		Storage: storage.NewStorageWithClients(users, map[string]*storage.Client{
			clientID: storage.WebClient(clientID, clientSecret, redirectURL),
		}),
		people: users,
	}
	srv := httptest.NewUnstartedServer(exampleop.SetupServer(issuer, st, nil, false))
	_ = srv.Listener.Close()
	srv.Listener = lis
	srv.Start()
	t.Cleanup(srv.Close)
	return &Provider{Issuer: issuer}
}

type userStore map[string]Person

func (u userStore) GetUserByID(id string) *storage.User {
	p, ok := u[id]
	if !ok {
		return nil
	}
	return &storage.User{ID: p.ID, Username: p.Username, Password: p.Password, FirstName: p.Name, Email: p.Username, EmailVerified: true}
}

func (u userStore) GetUserByUsername(name string) *storage.User {
	for _, p := range u {
		if p.Username == name {
			return u.GetUserByID(p.ID)
		}
	}
	return nil
}

func (u userStore) ExampleClientID() string { return storage.ServiceUserID }

// withClaims is the example storage, adding each person's claims, name and
// e-mail address to the ID tokens it issues.
type withClaims struct {
	*storage.Storage
	people userStore
}

func (s *withClaims) SetUserinfoFromRequest(ctx context.Context, info *oidc.UserInfo, token op.IDTokenRequest, scopes []string) error {
	if err := s.Storage.SetUserinfoFromRequest(ctx, info, token, scopes); err != nil {
		return err
	}
	p := s.people[token.GetSubject()]
	info.Name = p.Name
	// The username is the person's verified address, as at most providers.
	info.Email, info.EmailVerified = p.Username, true
	for k, v := range p.Claims {
		info.AppendClaims(k, v)
	}
	return nil
}
