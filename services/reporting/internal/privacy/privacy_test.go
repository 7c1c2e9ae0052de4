package privacy

import (
	"strconv"
	"sync"
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

// TestUsersRemembers: the remembered pseudonyms are the computed ones, from
// any number of goroutines, past the memo's bound too.
func TestUsersRemembers(t *testing.T) {
	t.Parallel()
	p := NewPolicy(nil, "secret")
	show := p.Users("initech")
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range memoUsers + 100 {
				id := "user-" + strconv.Itoa((i*7+g)%(memoUsers+50))
				if got := show(id); got != p.pseudonym("initech", id) {
					t.Errorf("%s: %s", id, got)
					return
				}
			}
		})
	}
	wg.Wait()
}
