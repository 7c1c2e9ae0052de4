package launch

import (
	"context"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/quote"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// sameEvent checks a deduplicated append against the event stored first under
// the same id: a retry is fine, another event reusing the id is AlreadyExists.
// Only duplicates pay for the read, in the USAGE stream the append went to.
func (s *Server) sameEvent(ctx context.Context, streamName string, seq uint64, ev *v1.Event) error {
	stream, err := s.JS.Stream(ctx, streamName)
	if err != nil {
		return unavailable(fmt.Sprintf("could not check a repeated event id: %v", err))
	}
	msg, err := stream.GetMsg(ctx, seq)
	if err != nil {
		return unavailable(fmt.Sprintf("could not check a repeated event id: %v", err))
	}
	stored, err := eventlog.Decode(msg.Data)
	if err != nil {
		return status.Errorf(codes.Internal, "stored event %d: %v", seq, err)
	}
	if identity(stored) != identity(ev) {
		return status.Errorf(codes.AlreadyExists,
			"event_id %s was already used for another event (%s); a retry must resend the same event, a new event needs a new id",
			quote.Prefix(ev.GetEventId()), identity(stored))
	}
	return nil
}

// identity is what a retry of an event repeats exactly; times and answers may differ.
func identity(ev *v1.Event) string {
	var user, product string
	switch p := ev.GetPayload().(type) {
	case *v1.Event_LaunchReceived:
		user, product = p.LaunchReceived.GetUserId(), p.LaunchReceived.GetProductCode()
	case *v1.Event_HeartbeatReceived:
		user, product = p.HeartbeatReceived.GetUserId(), p.HeartbeatReceived.GetProductCode()
	case *v1.Event_SessionEnded:
		user, product = p.SessionEnded.GetUserId(), p.SessionEnded.GetProductCode()
	}
	return fmt.Sprintf("%s of team %s, user %s, product %s", eventlog.TypeOf(ev), ev.GetTeamId(), user, product)
}
