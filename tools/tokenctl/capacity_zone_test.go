package tokenctl

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Capacity refreshes at a UTC month start (the ledger's rule); an
// organisation in Los Angeles sees that instant on the evening before.
func TestCapacityDatesInTheOrganisationsZone(t *testing.T) {
	la, err := time.LoadLocation("America/Los_Angeles")
	require.NoError(t, err)
	c := &v1.Capacity{ProductCode: "API", Kind: v1.CapacityKind_CAPACITY_KIND_EXHAUSTIBLE, Total: 10, Available: 10,
		RefreshesAt: timestamppb.New(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)),
		EndsAt:      timestamppb.New(time.Date(2026, 12, 31, 12, 0, 0, 0, time.UTC))}
	balances := []*v1.Balance{{TeamId: "design", Capacities: []*v1.Capacity{c}}}

	utc := capacityTable(balances, time.UTC)
	require.Equal(t, []string{"2026-12-31", "2026-04-01"}, utc.rows[0][7:9])
	require.NotContains(t, utc.footer, "dates in UTC", "UTC needs no word")

	local := capacityTable(balances, la)
	require.Equal(t, []string{"2026-12-31", "2026-03-31"}, local.rows[0][7:9], "ends and refreshes, as dates in the zone")
	require.Contains(t, local.footer, "dates in America/Los_Angeles")
}
