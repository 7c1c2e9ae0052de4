package simulator

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/launcher"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Stats count what a play did.
type Stats struct {
	Launches, Authorized, Denied int
	Heartbeats, Renewals, Stops  int
	Ends, Queued                 int
	Tokens                       int64
}

// Player sends a plan through launcher SDK clients, one per team.
type Player struct {
	// Client returns the launcher client of a team.
	Client func(team string) (*launcher.Client, error)
	// SetClock, when set, moves the servers' clock to each action's time
	// (tests and demo data); otherwise the servers stamp their own time.
	SetClock func(time.Time)
}

// Play sends actions in order until done or ctx ends.
func (p *Player) Play(ctx context.Context, actions []Action) (Stats, error) {
	var st Stats
	windows := map[string]string{} // user/product -> window id
	for _, a := range actions {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		if p.SetClock != nil {
			p.SetClock(a.At)
		}
		c, err := p.Client(a.Team)
		if err != nil {
			return st, err
		}
		key := a.User + "/" + a.Product
		at := timestamppb.New(a.At)
		if p.SetClock == nil {
			at = timestamppb.Now()
		}
		switch a.Kind {
		case Launch:
			resp, err := c.Launch(ctx, &v1.LaunchRequest{TeamId: a.Team, UserId: a.User, ProductCode: a.Product, ProductVersion: "2026", DeviceId: a.User + "-pc", OccurredAt: at})
			if err != nil {
				return st, fmt.Errorf("launch %s: %w", key, err)
			}
			st.Launches++
			st.Tokens += resp.GetTokensCharged()
			if resp.GetDecision() == v1.Decision_DECISION_AUTHORIZED {
				st.Authorized++
				windows[key] = resp.GetWindowId()
			} else {
				st.Denied++
				delete(windows, key)
			}
		case Heartbeat:
			w, ok := windows[key]
			if !ok {
				continue // never started: nothing runs
			}
			resp, err := c.Heartbeat(ctx, &v1.HeartbeatRequest{TeamId: a.Team, UserId: a.User, ProductCode: a.Product, DeviceId: a.User + "-pc", WindowId: w, Active: a.Active, OccurredAt: at})
			switch {
			case errors.Is(err, launcher.ErrQueued):
				st.Queued++
			case err != nil:
				return st, fmt.Errorf("heartbeat %s: %w", key, err)
			default:
				st.Heartbeats++
				st.Tokens += resp.GetTokensCharged()
				if resp.GetTokensCharged() > 0 {
					st.Renewals++
				}
				if resp.GetWindowId() != "" {
					windows[key] = resp.GetWindowId()
				}
				if !resp.GetKeepRunning() {
					st.Stops++
					delete(windows, key)
				}
			}
		case End:
			w, ok := windows[key]
			if !ok {
				continue
			}
			err := c.End(ctx, &v1.EndSessionRequest{TeamId: a.Team, UserId: a.User, ProductCode: a.Product, DeviceId: a.User + "-pc", WindowId: w, OccurredAt: at})
			if err != nil && !errors.Is(err, launcher.ErrQueued) {
				return st, fmt.Errorf("end %s: %w", key, err)
			}
			st.Ends++
			delete(windows, key)
		}
	}
	return st, nil
}
