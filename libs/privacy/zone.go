package privacy

import (
	"fmt"
	"regexp"
	"time"

	"github.com/tokenmeter/tokenmeter/libs/quote"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// MaxZoneLen bounds a time zone name; the longest IANA name is 32 bytes.
const MaxZoneLen = 64

// zoneName is what an IANA name is made of. Checked besides
// time.LoadLocation so that a name may be written into SQL as a literal.
var zoneName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$`)

// LoadZone checks that name is an IANA time zone this binary knows and
// returns it.
func LoadZone(name string) (*time.Location, error) {
	if len(name) > MaxZoneLen || !zoneName.MatchString(name) {
		return nil, fmt.Errorf("%s is not an IANA time zone name such as Europe/Berlin (at most %d bytes)", quote.Prefix(name), MaxZoneLen)
	}
	loc, err := time.LoadLocation(name)
	if err != nil || name == "Local" {
		return nil, fmt.Errorf("%s is not a time zone this server knows (IANA names such as America/Los_Angeles)", quote.Prefix(name))
	}
	return loc, nil
}

// ZoneSetting is an organisation's time zone as the log holds it.
type ZoneSetting struct {
	Zone string
	At   time.Time
	// Actor is who set it: role and key id ("admin:k-1a2b…").
	Actor string
	// EventID is the id of the event that set it.
	EventID string
	// loc is Zone loaded once; nil when this binary does not know it.
	loc *time.Location
}

// applyZone records a TimeZoneSet; a name this binary cannot load (an older
// time zone database) leaves the organisation in UTC rather than guessing.
func (s *Settings) applyZone(org string, ev *v1.Event, zone string) {
	loc, _ := LoadZone(zone)
	s.zones[org] = ZoneSetting{Zone: zone, At: ev.GetServerTime().AsTime(),
		Actor: ev.GetActor().GetKind() + ":" + ev.GetActor().GetId(), EventID: ev.GetEventId(), loc: loc}
}

// ZoneSetting returns org's time zone setting and whether it ever set one.
func (s *Settings) ZoneSetting(org string) (ZoneSetting, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	z, ok := s.zones[org]
	return z, ok
}

// Zone is the time zone org's reports follow: UTC until it sets one.
func (s *Settings) Zone(org string) *time.Location {
	z, _ := s.ZoneSetting(org)
	if z.loc == nil {
		return time.UTC
	}
	return z.loc
}

// ZoneNameOK reports whether name has the shape of an IANA name, which is
// also what makes it safe to write into SQL as a literal.
func ZoneNameOK(name string) bool {
	return len(name) <= MaxZoneLen && zoneName.MatchString(name)
}
