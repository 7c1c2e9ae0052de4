package privacy

import (
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

type orgs map[string]bool

func (o orgs) ShowsPersonalData(org string) bool { return o[org] }

func TestPolicy(t *testing.T) {
	t.Parallel()
	p := New("secret-secret-16", orgs{"acme": true})
	require.True(t, p.ShowsPersonalData("acme"))
	require.False(t, p.ShowsPersonalData("initech"))
	require.Equal(t, "ann@acme.example", p.Users("acme")("ann@acme.example"))

	show := p.Users("initech")
	h := show("ann@initech.example")
	require.Regexp(t, `^u_[0-9a-f]{20}$`, h)
	require.Equal(t, h, show("ann@initech.example"), "stable")
	require.NotEqual(t, h, show("bob@initech.example"))
	require.NotEqual(t, h, New("other-key-other-key", orgs{}).Users("initech")("ann@initech.example"), "keyed")
	require.NotEqual(t, h, p.Users("umbrella")("ann@initech.example"), "per organisation")
	require.Empty(t, show(""))
	// The pseudonyms handed out before devices and events had theirs.
	require.Equal(t, "u_3e7df1b8d8b33e1c7b7a", Pseudonym([]byte("secret"), "initech", Prefix, "ann"), "as reporting made it before")

	sh := p.For("initech")
	require.Regexp(t, `^d_[0-9a-f]{20}$`, sh.Device("ann-laptop"))
	require.Regexp(t, `^e_[0-9a-f]{20}$`, sh.Event("ann-REVIT-1"))
	require.NotEqual(t, sh.User("x")[2:], sh.Device("x")[2:], "kinds hash apart")
	attrs := sh.Attributes(map[string]string{"project": "P-1", "userName": "ann", "host": "ann-pc"})
	require.Equal(t, "P-1", attrs["project"])
	require.Regexp(t, `^a_`, attrs["userName"])
	require.Regexp(t, `^a_`, attrs["host"])
}

func TestPersonalAttribute(t *testing.T) {
	t.Parallel()
	for key, want := range map[string]bool{
		"user": true, "user_name": true, "UserName": true, "e-mail": true, "email": true, "hostname": true,
		"machine-id": true, "clientIP": true, "project": false, "cost_centre": false, "zip": false, "description": false,
	} {
		require.Equal(t, want, PersonalAttribute(key), key)
	}
}

// A pseudonymised organisation's events carry no user, device, launcher
// event id or personal attribute; the original is not changed.
func TestMask(t *testing.T) {
	t.Parallel()
	p := New("secret-secret-16", orgs{"acme": true})
	ev := &v1.Event{EventId: "ann-laptop-1", OrgId: "initech", Payload: &v1.Event_WindowCharged{WindowCharged: &v1.WindowCharged{
		UserId: "ann", DeviceId: "ann-laptop", WindowId: "ann-laptop-1", Attributes: map[string]string{"user": "ann", "project": "P"}}}}
	m := p.Mask(ev)
	w := m.GetWindowCharged()
	require.NotContains(t, m.String(), "ann")
	require.Equal(t, "P", w.GetAttributes()["project"])
	require.Equal(t, m.GetEventId(), w.GetWindowId(), "a window is named by the event that opened it")
	require.Equal(t, "ann", ev.GetWindowCharged().GetUserId(), "the original is kept")
	ev.OrgId = "acme"
	require.Same(t, ev, p.Mask(ev), "shown as it is")
}

// TestUsersRemembers: the remembered pseudonyms are the computed ones, from
// any number of goroutines, past the memo's bound too.
func TestUsersRemembers(t *testing.T) {
	t.Parallel()
	key := "secret-secret-16"
	show := New(key, orgs{}).Users("initech")
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range memoSize + 100 {
				id := "user-" + strconv.Itoa((i*7+g)%(memoSize+50))
				if got := show(id); got != Pseudonym([]byte(key), "initech", Prefix, id) {
					t.Errorf("%s: %s", id, got)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestCheckKey(t *testing.T) {
	t.Parallel()
	require.ErrorContains(t, CheckKey(""), "-user-hash-key is required")
	require.ErrorContains(t, CheckKey("short"), "at least 16")
	require.ErrorContains(t, CheckKey(string(make([]byte, MaxKey+1))), "at most 1024")
	require.NoError(t, CheckKey("sixteen-bytes-ok"))
}

// mentions finds an id as a whole word only: an alert about "ann" is not
// hidden for naming "anne" or "ann-marie".
func TestMentions(t *testing.T) {
	for text, want := range map[string]bool{
		"ann used 10 tokens": true, "renewed for ann.": true, "user ann": true,
		"anne used 10 tokens": false, "ann-marie renewed": false, "joann": false, "": false,
	} {
		require.Equal(t, want, mentions(text, "ann"), text)
	}
}

// A user group's membership change names people: pseudonyms where the
// organisation shows them so; the group itself is no person.
func TestMaskGroupMembers(t *testing.T) {
	t.Parallel()
	p := New("secret-secret-16", orgs{})
	ev := &v1.Event{OrgId: "initech", Payload: &v1.Event_UserGroupMembersChanged{UserGroupMembersChanged: &v1.UserGroupMembersChanged{
		GroupId: "drafters", AddedUserIds: []string{"ann"}, RemovedUserIds: []string{"bob"}}}}
	m := p.Mask(ev).GetUserGroupMembersChanged()
	require.Equal(t, []string{p.For("initech").User("ann")}, m.GetAddedUserIds())
	require.Equal(t, []string{p.For("initech").User("bob")}, m.GetRemovedUserIds())
	require.Equal(t, "drafters", m.GetGroupId())
}
