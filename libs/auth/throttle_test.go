package auth

import (
	"context"
	"net"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

const throttledMethod = "/tokenmeter.test.Probe/Check"

func throttled(t *testing.T, perSecond float64, burst int) Authorizer {
	t.Helper()
	ring, err := ParseKeyring("admin-key-000001:acme:admin,service-key-00001:*:service:ingestion")
	if err != nil {
		t.Fatal(err)
	}
	return Authorizer{Keys: ring, Policy: Policy{throttledMethod: {RoleAdmin, RoleService}},
		Throttle: NewThrottle(perSecond, burst)}
}

// call is a call from ip (or in process, through a door, when ip starts "door:") with key.
func call(a Authorizer, ip, key string) error {
	md := metadata.Pairs("authorization", "Bearer "+key, MetadataOrg, "acme")
	var p *peer.Peer
	if len(ip) > 5 && ip[:5] == "door:" {
		md.Append("x-forwarded-for", "6.6.6.6, "+ip[5:])
		p = &peer.Peer{Addr: fakeAddr{"inprocess", "inprocess"}}
	} else {
		p = &peer.Peer{Addr: &net.TCPAddr{IP: net.ParseIP(ip), Port: 40000}}
	}
	ctx := peer.NewContext(metadata.NewIncomingContext(context.Background(), md), p)
	_, err := a.authorize(ctx, throttledMethod)
	return err
}

type fakeAddr struct{ network, addr string }

func (f fakeAddr) Network() string { return f.network }
func (f fakeAddr) String() string  { return f.addr }

func TestKeysAreRateLimitedButServicesAreNot(t *testing.T) {
	a := throttled(t, 0.001, 3)
	for i := range 3 {
		if err := call(a, "10.0.0.1", "admin-key-000001"); err != nil {
			t.Fatalf("call %d within the burst: %v", i, err)
		}
	}
	if err := call(a, "10.0.0.1", "admin-key-000001"); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("a call past the burst: %v, want ResourceExhausted", err)
	}
	for range 10 {
		if err := call(a, "10.0.0.1", "service-key-00001"); err != nil {
			t.Fatalf("a service key is not rate limited here: %v", err)
		}
	}
}

// A peer guessing keys is refused outright after FailureBurst failures,
// even when it then presents a good key; other peers, and a door's other
// clients (told apart by the address the gateway appends), are not.
func TestFailedAuthenticationsThrottleThePeer(t *testing.T) {
	a := throttled(t, 0, 0)
	for _, from := range []string{"10.0.0.2", "door:192.0.2.7"} {
		for i := range FailureBurst {
			if err := call(a, from, "guess-guess-guess"); status.Code(err) != codes.Unauthenticated {
				t.Fatalf("%s guess %d: %v, want Unauthenticated", from, i, err)
			}
		}
		if err := call(a, from, "admin-key-000001"); status.Code(err) != codes.ResourceExhausted {
			t.Fatalf("%s after %d failures: %v, want ResourceExhausted", from, FailureBurst, err)
		}
	}
	if err := call(a, "10.0.0.3", "admin-key-000001"); err != nil {
		t.Fatalf("another peer: %v", err)
	}
	if err := call(a, "door:192.0.2.8", "admin-key-000001"); err != nil {
		t.Fatalf("another client of the door: %v", err)
	}
}

// A full table of peers forgets only those that have refilled, and the
// addresses of one IPv6 /64 count as one peer.
func TestThrottleMemoryKeepsTheBlocked(t *testing.T) {
	a := throttled(t, 0, 0)
	for range FailureBurst {
		_ = call(a, "2001:db8:1:2::1", "guess-guess-guess")
	}
	if err := call(a, "2001:db8:1:2::ffff", "admin-key-000001"); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("another address of the same /64: %v, want ResourceExhausted", err)
	}
	for i := range maxBuckets + 10 {
		_ = call(a, net.IPv4(10, byte(i>>16), byte(i>>8), byte(i)).String(), "admin-key-000001")
	}
	// Remembered, its bucket holds what refilled since (a second a failure,
	// less than half a burst while the flood ran), so half a burst more
	// failures block it again; a forgotten, fresh bucket would take a whole burst.
	for range FailureBurst / 2 {
		_ = call(a, "2001:db8:1:2::1", "guess-guess-guess")
	}
	if err := call(a, "2001:db8:1:2::1", "admin-key-000001"); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("after %d other peers: %v, want the /64's failures remembered", maxBuckets, err)
	}
}
