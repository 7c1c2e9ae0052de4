package auth

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type otherKey struct{}

func TestPrincipalContext(t *testing.T) {
	if _, ok := FromContext(context.Background()); ok {
		t.Fatal("a bare context has a principal")
	}
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), otherKey{}, "x"))
	want := Principal{KeyID: "k", Org: "o", Team: "t", Role: RoleLauncher}
	ctx := WithPrincipal(parent, want)
	if got, ok := FromContext(ctx); !ok || got != want {
		t.Fatalf("FromContext = %+v, %v; want %+v", got, ok, want)
	}
	// A principal set again wins; values and cancellation of the parent pass through.
	again := Principal{KeyID: "k2", Org: "o2", Role: RoleService}
	inner, stop := context.WithTimeout(WithPrincipal(ctx, again), time.Hour)
	defer stop()
	if got, _ := FromContext(inner); got != again {
		t.Fatalf("FromContext = %+v; want %+v", got, again)
	}
	if ctx.Value(otherKey{}) != "x" {
		t.Fatal("parent value lost")
	}
	cancel()
	select {
	case <-inner.Done():
	case <-time.After(time.Second):
		t.Fatal("cancelling the parent did not reach a child of the principal context")
	}
	// Changing the returned copy does not change the context's.
	got, _ := FromContext(ctx)
	got.Org = "changed"
	if p, _ := FromContext(ctx); p != want {
		t.Fatalf("principal changed through a copy: %+v", p)
	}
}

// A person signed in by other means than a key gets a principal for the
// role its organisation gives it; a team admin is bound to its team.
func TestPersonPrincipal(t *testing.T) {
	p, err := PersonPrincipal("acme", "team-admin", "design", "sso:ann")
	require.NoError(t, err)
	require.Equal(t, Principal{KeyID: "sso:ann", Org: "acme", Team: "design", Role: RoleTeamAdmin}, p)
	require.ErrorIs(t, p.CheckTeam("civil"), ErrPermission)
	v, err := PersonPrincipal("acme", "viewer", "", "sso:bob")
	require.NoError(t, err)
	require.Equal(t, RoleViewer, v.Role)
	for _, bad := range [][2]string{{"root", ""}, {"service", ""}, {"launcher", "design"}, {"team-admin", ""}, {"admin", "design"}} {
		_, err := PersonPrincipal("acme", bad[0], bad[1], "sso:x")
		require.Error(t, err, bad)
	}
	_, err = PersonPrincipal("*", "owner", "", "sso:x")
	require.Error(t, err, "one organisation")
}
