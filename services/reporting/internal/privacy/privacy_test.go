package privacy

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPolicy(t *testing.T) {
	t.Parallel()
	p := NewPolicy(ParseOrgs(" acme, ,globex "), "secret")
	require.True(t, p.ShowsPersonalData("acme"))
	require.False(t, p.ShowsPersonalData("initech"))
	require.Equal(t, "ann@acme.example", p.Users("acme")("ann@acme.example"))

	show := p.Users("initech")
	h := show("ann@initech.example")
	require.Regexp(t, `^u_[0-9a-f]{20}$`, h)
	require.Equal(t, h, show("ann@initech.example"), "stable")
	require.NotEqual(t, h, show("bob@initech.example"))
	require.NotEqual(t, h, NewPolicy(nil, "other").Users("initech")("ann@initech.example"), "keyed")
	require.NotEqual(t, h, p.Users("umbrella")("ann@initech.example"), "per organisation")
	require.Empty(t, show(""))

	require.True(t, NewPolicy([]string{"*"}, "").ShowsPersonalData("anyone"))
}
