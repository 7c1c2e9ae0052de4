package privacy

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func TestLoadZone(t *testing.T) {
	for _, ok := range []string{"UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires", "Etc/GMT+5", "Pacific/Auckland"} {
		_, err := LoadZone(ok)
		require.NoError(t, err, ok)
	}
	for _, bad := range []string{"", "Local", "Mars/Olympus", "../etc/passwd", "Europe/Berlin'", "Europe//Berlin", string(make([]byte, 65))} {
		_, err := LoadZone(bad)
		require.Error(t, err, "%q", bad)
	}
}

// An organisation is in UTC until it sets a zone, then in its last one; a
// zone this binary does not know leaves it in UTC.
func TestSettingsZone(t *testing.T) {
	s := &Settings{zones: map[string]ZoneSetting{}}
	require.Equal(t, time.UTC, s.Zone("acme"))
	set := func(id, zone string) {
		s.apply("acme", &v1.Event{EventId: id, ServerTime: timestamppb.Now(), Actor: &v1.Actor{Kind: "admin", Id: "k1"},
			Payload: &v1.Event_TimeZoneSet{TimeZoneSet: &v1.TimeZoneSet{Zone: zone}}})
	}
	set("z1", "Pacific/Auckland")
	require.Equal(t, "Pacific/Auckland", s.Zone("acme").String())
	require.Equal(t, time.UTC, s.Zone("globex"), "another organisation's zone is its own")
	set("z2", "Atlantis/Capital")
	require.Equal(t, time.UTC, s.Zone("acme"))
	z, ok := s.ZoneSetting("acme")
	require.True(t, ok)
	require.Equal(t, ZoneSetting{Zone: "Atlantis/Capital", At: z.At, Actor: "admin:k1", EventID: "z2"}, z)
}
