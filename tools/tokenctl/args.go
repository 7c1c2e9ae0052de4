package tokenctl

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// eventFlag adds --event-id to a command that changes the ledger: the id
// makes a retry safe (the ledger applies one id once).
func eventFlag(cmd *cobra.Command, id *string) {
	cmd.Flags().StringVar(id, "event-id", "", "id of this change (default: a new UUID); repeat a failed command with the id it printed to retry it safely")
}

// eventID is the given id or a new one.
func eventID(given string) string {
	if given != "" {
		return given
	}
	return uuid.NewString()
}

// retryHint adds to an error that leaves a change's outcome unknown how to
// retry it without applying it twice.
func retryHint(err error, id string) error {
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled, codes.Unknown, codes.Internal, codes.Aborted:
		return fmt.Errorf("%w\nthe change may or may not have been applied: repeat it with --event-id %s, which applies it at most once", err, id)
	}
	return err
}

// parseTokens reads a positive whole number of tokens (or units) named what.
func parseTokens(what, s string) (int64, error) {
	n, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("invalid %s %q: want a positive whole number", what, s)
	}
	return n, nil
}

// parseMicros reads a price such as 3, 3.5 or 2.75 into millionths.
func parseMicros(flag, s string) (int64, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || f > 1e12 {
		return 0, fmt.Errorf("invalid %s %q: want a price such as 3.25 (per token, in the pack's currency)", flag, s)
	}
	return int64(math.Round(f * 1e6)), nil
}

// parseWhen reads a date (2026-04-01, midnight UTC) or an RFC 3339 time; ""
// is nil (the server's default).
func parseWhen(flag, s string) (*timestamppb.Timestamp, error) {
	if s == "" {
		return nil, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return timestamppb.New(t), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return timestamppb.New(t), nil
	}
	return nil, fmt.Errorf("invalid %s %q: give a date (2026-04-01, midnight UTC) or an RFC 3339 time (2026-04-01T09:00:00+02:00)", flag, s)
}

// micros shows millionths as a price.
func micros(m int64) string { return strconv.FormatFloat(float64(m)/1e6, 'f', 2, 64) }

// exactArgs is cobra.ExactArgs naming the arguments it wants.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != len(names) {
			return fmt.Errorf("%s takes %d argument(s), %s; got %d\nrun '%s --help' for usage",
				cmd.CommandPath(), len(names), strings.Join(names, " "), len(args), cmd.CommandPath())
		}
		return nil
	}
}
