package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// UsageLog appends one launcher event of team to the USAGE stream, as the
// ingestion service does for the launchers it hears from.
type UsageLog func(ctx context.Context, team string, ev *v1.Event) error

// UsageTo is the UsageLog of org on js (a connection allowed to append
// usage events, such as the ingestion service's).
func UsageTo(js jetstream.JetStream, org string) UsageLog {
	return func(ctx context.Context, team string, ev *v1.Event) error {
		ev.OrgId, ev.TeamId = org, team
		_, err := eventlog.Append(ctx, js, eventlog.UsageSubject(org, team), ev, nil)
		return err
	}
}

// launched is a launch the ledger answered, for its session telemetry.
type launched struct {
	id, team, user, product, device string
	at                              time.Time
	result                          *v1.LaunchResponse
	// live sessions have heartbeats up to now and no end.
	live bool
}

// liveUsers have a product open when the load ends: who is using what now.
var liveUsers = []struct {
	team, user, product string
	minutesAgo          int
}{{"design", "ann", "REVIT", 50}, {"design", "bob", "REVIT", 35}, {"design", "carla", "ACAD", 20}, {"civil", "gus", "CIVIL3D", 10}}

// openLive launches the live users' products minutes ago.
func openLive(ctx context.Context, svc v1.LedgerServiceClient, now time.Time) ([]launched, error) {
	var out []launched
	for _, l := range liveUsers {
		x := launched{id: fmt.Sprintf("demo-live-%s-%s-%s", l.team, l.user, now.Format("20060102")), team: l.team, user: l.user,
			product: l.product, device: l.user + "-laptop", at: now.Add(-time.Duration(l.minutesAgo) * time.Minute), live: true}
		resp, err := svc.Authorize(ctx, &v1.AuthorizeRequest{ReceivedAt: timestamppb.New(x.at), Launch: &v1.LaunchRequest{
			EventId: x.id, TeamId: l.team, UserId: l.user, ProductCode: l.product, ProductVersion: "2026", DeviceId: x.device}})
		if err != nil {
			return out, fmt.Errorf("live launch %s: %w", l.user, err)
		}
		x.result = resp.GetResult()
		out = append(out, x)
	}
	return out, nil
}

// sendSessions appends each granted launch's session: the launch, then
// heartbeats every 15 minutes in one of three shapes — a brief look (ended
// within minutes), a working session, or one left open and idle — and its
// end; live sessions beat every 5 minutes up to now and do not end.
func sendSessions(ctx context.Context, usage UsageLog, ls []launched, now time.Time) (events int, err error) {
	rng := rand.New(rand.NewPCG(7, 42))
	for _, l := range ls {
		if l.result.GetDecision() != v1.Decision_DECISION_AUTHORIZED {
			continue
		}
		beats := sessionShape(rng, l, now)
		send := func(n int, at time.Time, p any) error {
			ev := &v1.Event{EventId: fmt.Sprintf("%s-usage-%d", l.id, n), ServerTime: timestamppb.New(at)}
			switch x := p.(type) {
			case *v1.LaunchReceived:
				ev.Payload = &v1.Event_LaunchReceived{LaunchReceived: x}
			case *v1.HeartbeatReceived:
				ev.Payload = &v1.Event_HeartbeatReceived{HeartbeatReceived: x}
			case *v1.SessionEnded:
				ev.Payload = &v1.Event_SessionEnded{SessionEnded: x}
			}
			events++
			return usage(ctx, l.team, ev)
		}
		window := l.result.GetWindowId()
		if err := send(0, l.at, &v1.LaunchReceived{UserId: l.user, ProductCode: l.product, ProductVersion: "2026", DeviceId: l.device,
			Decision: v1.Decision_DECISION_AUTHORIZED, TokensCharged: l.result.GetTokensCharged(), WindowId: window}); err != nil {
			return events, err
		}
		for i, b := range beats {
			if err := send(i+1, l.at.Add(b.after), &v1.HeartbeatReceived{UserId: l.user, ProductCode: l.product, DeviceId: l.device,
				WindowId: window, Active: b.active}); err != nil {
				return events, err
			}
		}
		if !l.live {
			end := l.at.Add(beats[len(beats)-1].after + 2*time.Minute)
			if err := send(len(beats)+1, end, &v1.SessionEnded{UserId: l.user, ProductCode: l.product, DeviceId: l.device, WindowId: window}); err != nil {
				return events, err
			}
		}
	}
	return events, nil
}

// beat is a heartbeat after the launch, active or idle since the last.
type beat struct {
	after  time.Duration
	active bool
}

func sessionShape(rng *rand.Rand, l launched, now time.Time) []beat {
	var out []beat
	switch k := rng.IntN(10); {
	case l.live:
		for t := 5 * time.Minute; t < now.Sub(l.at); t += 5 * time.Minute {
			out = append(out, beat{t, rng.IntN(4) > 0})
		}
		if len(out) == 0 {
			out = append(out, beat{now.Sub(l.at) / 2, true})
		}
	case k < 2: // opened to check something
		out = append(out, beat{time.Duration(3+rng.IntN(6)) * time.Minute, true})
	case k < 4: // worked half an hour, then left open
		out = append(out, beat{15 * time.Minute, true}, beat{30 * time.Minute, true})
		for t := 45 * time.Minute; t < time.Duration(3+rng.IntN(4))*time.Hour; t += 15 * time.Minute {
			out = append(out, beat{t, false})
		}
	default: // a working session, idle now and then
		for t := 15 * time.Minute; t <= time.Duration(2+rng.IntN(4))*time.Hour; t += 15 * time.Minute {
			out = append(out, beat{t, rng.IntN(5) > 0})
		}
	}
	return out
}
