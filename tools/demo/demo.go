// Package demo loads a demo organisation through the services' gRPC APIs:
// products at the seed documents' rates, two teams with packs of different
// expiries, users, a few weeks of launches, capacity products with a term
// and a history of use, and a studio team whose daily Revit users show the
// hybrid model (named subscriptions).
package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Products are the seeds' daily rates.
var Products = []struct {
	Code, Name, Group string
	Rate              int64
}{
	{"REVIT", "Revit", "Revit", 10},
	{"ACAD", "AutoCAD", "AutoCAD", 7},
	{"ACAD-MEP", "AutoCAD MEP toolset", "AutoCAD", 7},
	{"CIVIL3D", "Civil 3D", "Civil 3D", 9},
	{"3DSMAX", "3ds Max", "3ds Max", 6},
	{"FUSION", "Fusion 360", "Fusion", 2},
}

// Teams and their users.
var Teams = map[string][]string{
	"design": {"ann", "bob", "carla", "dev", "erin", "femi"},
	"civil":  {"gus", "hana", "ivan", "jo"},
}

// Loaded reports whether the demo data is already there (a rerun keeps it).
func Loaded(ctx context.Context, ledger v1.LedgerServiceClient) (bool, error) {
	b, err := ledger.GetBalance(ctx, &v1.GetBalanceRequest{TeamId: "design"})
	if err != nil {
		return false, err
	}
	return b.GetBalance().GetPurchased() > 0, nil
}

// Load writes the demo data. admin and service are ledger connections with
// the dev admin and service keys; history goes back weeks days before now.
func Load(ctx context.Context, admin, service *grpc.ClientConn, org string, now time.Time, weeks int) (launches int, err error) {
	return LoadWithSessions(ctx, admin, service, nil, org, now, weeks)
}

// LoadWithSessions is Load, and when usage is set it also appends the
// launcher telemetry of every granted launch (heartbeats, ends) and leaves
// a few sessions open now, for the Sessions report.
func LoadWithSessions(ctx context.Context, admin, service *grpc.ClientConn, usage UsageLog, org string, now time.Time, weeks int) (launches int, err error) {
	ledger := v1.NewLedgerServiceClient(admin)
	start := now.AddDate(0, 0, -7*weeks).Truncate(24 * time.Hour)
	if err := setZone(ctx, ledger); err != nil {
		return 0, err
	}
	if err := setUp(ctx, ledger, now, start); err != nil {
		return 0, err
	}
	// The project pack ends once the history is in: a few seconds on.
	projectEnds := time.Now().Add(3 * time.Second)
	if err := addPacks(ctx, ledger, now, start, projectEnds); err != nil {
		return 0, err
	}
	if err := setUpRefusals(ctx, ledger, start); err != nil {
		return 0, err
	}
	svc := v1.NewLedgerServiceClient(service)
	sctx := auth.ActingFor(ctx, org)
	h := &history{svc: svc, rng: rand.New(rand.NewPCG(42, 7)), keep: usage != nil}
	for day := start; day.Before(now.Truncate(24 * time.Hour)); day = day.AddDate(0, 0, 1) {
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		n, err := refusals(sctx, svc, day)
		if h.launches += n; err != nil {
			return h.launches, err
		}
		if err := h.day(sctx, day); err != nil {
			return h.launches, err
		}
		if err := h.lateLaunch(sctx, day); err != nil {
			return h.launches, err
		}
	}
	if err := loadCapacity(ctx, sctx, ledger, svc, now, start); err != nil {
		return h.launches, err
	}
	n, err := loadStudio(sctx, ledger, svc, now)
	if h.launches += n; err != nil {
		return h.launches, err
	}
	n, err = loadSurvey(sctx, ledger, svc, now)
	if h.launches += n; err != nil {
		return h.launches, err
	}
	if err := recordProjectExpiry(sctx, svc, projectEnds); err != nil || usage == nil {
		return h.launches + 1, err
	}
	live, err := openLive(sctx, svc, now)
	if err != nil {
		return h.launches + 1, err
	}
	_, err = sendSessions(ctx, usage, append(h.kept, live...), now)
	return h.launches + 1 + len(live), err
}

// setUp sets the products' rates, assigns every user and makes the user
// group. Event ids derive
// from what they set (and the history's start): loading again applies
// nothing twice.
func setUp(ctx context.Context, ledger v1.LedgerServiceClient, now, start time.Time) error {
	startDay := start.Format("20060102")
	for _, p := range Products {
		if _, err := ledger.SetProductRate(ctx, &v1.SetProductRateRequest{
			EventId: "demo-rate-" + p.Code + "-" + startDay, ProductCode: p.Code, Name: p.Name, Group: p.Group, DailyRate: p.Rate,
			EffectiveFrom: timestamppb.New(start.AddDate(-1, 0, 0)),
		}); err != nil {
			return fmt.Errorf("rate %s: %w", p.Code, err)
		}
	}
	for team, users := range Teams {
		for _, u := range users {
			if _, err := ledger.AssignUser(ctx, &v1.AssignUserRequest{EventId: "demo-assign-" + team + "-" + u, TeamId: team, UserId: u, ProductCodes: []string{"*"}}); err != nil {
				return fmt.Errorf("assign %s: %w", u, err)
			}
		}
	}
	return setUpGroup(ctx, ledger)
}

// history sends the working days' launches; with keep it keeps each one
// for its session telemetry.
type history struct {
	svc      v1.LedgerServiceClient
	rng      *rand.Rand
	keep     bool
	kept     []launched
	launches int
}

// day: each user opening one or two products in the morning, sometimes
// again after lunch on the desktop (free inside the window).
func (h *history) day(ctx context.Context, day time.Time) error {
	for team, users := range Teams {
		for ui, u := range users {
			if h.rng.IntN(10) < 3 { // an occasional user stays away
				continue
			}
			products := []string{Products[(ui+int(day.Unix()/86400))%len(Products)].Code}
			if h.rng.IntN(4) == 0 {
				products = append(products, Products[h.rng.IntN(len(Products))].Code)
			}
			for _, code := range products {
				at := day.Add(8*time.Hour + time.Duration(h.rng.IntN(120))*time.Minute)
				for i := 0; i < 1+h.rng.IntN(2); i++ {
					l := launched{id: fmt.Sprintf("demo-%s-%s-%s-%s-%d", team, u, code, day.Format("20060102"), i),
						team: team, user: u, product: code, device: u + []string{"-laptop", "-desktop"}[i], at: at.Add(time.Duration(i) * 4 * time.Hour)}
					if err := h.launch(ctx, l, ui); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

func (h *history) launch(ctx context.Context, l launched, ui int) error {
	h.launches++
	resp, err := h.svc.Authorize(ctx, &v1.AuthorizeRequest{
		Launch: &v1.LaunchRequest{
			EventId: l.id, TeamId: l.team, UserId: l.user, ProductCode: l.product, ProductVersion: "2026",
			DeviceId: l.device, Attributes: map[string]string{"project": fmt.Sprintf("P-%d", 100+ui%3)},
		},
		ReceivedAt: timestamppb.New(l.at),
	})
	if err != nil {
		return fmt.Errorf("launch %s %s: %w", l.user, l.product, err)
	}
	if h.keep {
		l.result = resp.GetResult()
		h.kept = append(h.kept, l)
	}
	return nil
}
