package server

import (
	"context"
	"errors"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/quote"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/rules"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/store"
)

// AcknowledgeAlert records that someone of the caller's organisation saw an
// alert. The first acknowledgement stays; acknowledging again is harmless.
func (s *Server) AcknowledgeAlert(ctx context.Context, req *v1.AcknowledgeAlertRequest) (*v1.AcknowledgeAlertResponse, error) {
	org, err := orgOf(ctx)
	if err != nil {
		return nil, err
	}
	id := req.GetAlertId()
	parts := strings.Split(id, ".")
	if len(parts) < 4 || len(id) > 512 {
		return nil, grpcserver.Invalid("alert_id", "%s is not an alert id (kind.org.team.sequence...)", quote.Prefix(id))
	}
	if rules.OrgOfAlertID(id) != org {
		return nil, status.Errorf(codes.NotFound, "alert %s not found", quote.Prefix(id)) // never say it exists elsewhere
	}
	a, err := s.find(ctx, org, parts[2], parts[0], id)
	if err != nil {
		return nil, err
	}
	p, _ := auth.FromContext(ctx)
	ack, err := s.store.Acks.Put(ctx, org, id, store.Ack{By: p.KeyID, At: s.now()})
	if err != nil {
		return nil, unavailable(ctx, "acknowledge", err)
	}
	a.Acknowledged, a.AcknowledgedBy, a.AcknowledgedAt = true, ack.By, timestamppb.New(ack.At)
	return &v1.AcknowledgeAlertResponse{Alert: a}, nil
}

// errFound stops a read at the alert sought.
var errFound = errors.New("found")

// find reads the alert with id from its team's subject of kind.
func (s *Server) find(ctx context.Context, org, team, kind, id string) (*v1.Alert, error) {
	if !eventlog.ValidID(team) || !eventlog.ValidID(kind) {
		return nil, status.Errorf(codes.NotFound, "alert %s not found", quote.Prefix(id))
	}
	var found *v1.Alert
	_, err := eventlog.ReadSubject(ctx, s.js, eventlog.AlertsStream, eventlog.AlertSubject(org, team, kind), 0, func(st eventlog.Stored) error {
		if a := st.Event.GetAlert(); a != nil && a.GetAlertId() == id {
			a.Sequence = st.Sequence
			found = a
			return errFound
		}
		return nil
	})
	if err != nil && !errors.Is(err, errFound) {
		return nil, unavailable(ctx, "find alert", err)
	}
	if found == nil {
		return nil, status.Errorf(codes.NotFound, "alert %s not found", quote.Prefix(id))
	}
	return found, nil
}

// withAcks marks the alerts that were acknowledged.
func (s *Server) withAcks(ctx context.Context, org string, alerts ...*v1.Alert) error {
	for _, a := range alerts {
		ack, err := s.store.Acks.Get(ctx, org, a.GetAlertId())
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		a.Acknowledged, a.AcknowledgedBy, a.AcknowledgedAt = true, ack.By, timestamppb.New(ack.At)
	}
	return nil
}
