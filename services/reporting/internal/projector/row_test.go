package projector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func TestRowOf(t *testing.T) {
	t.Parallel()
	received := time.Date(2025, 3, 31, 23, 30, 15, 500_000_000, time.UTC)
	charged := &v1.Event{
		EventId:    "ev-1",
		OrgId:      "acme",
		TeamId:     "design",
		ServerTime: timestamppb.New(received),
		Payload: &v1.Event_WindowCharged{WindowCharged: &v1.WindowCharged{
			UserId: "ann", ProductCode: "REVIT", ProductVersion: "2025", ProductGroup: "AEC",
			DeviceId: "pc-1", WindowId: "w-1",
			WindowStart: timestamppb.New(received),
			WindowEnd:   timestamppb.New(received.Add(24 * time.Hour)),
			Tokens:      10,
			Split:       []*v1.PackSplit{{PackId: "p1", Tokens: 4}, {PackId: "p2", Tokens: 6}},
			Renewal:     true,
			Attributes:  map[string]string{"project": "tower", "cost_centre": "cc-9"},
		}},
	}
	tests := []struct {
		name string
		ev   *v1.Event
		ok   bool
		want Row
	}{
		{
			name: "window charged",
			ev:   charged,
			ok:   true,
			want: Row{
				Seq: 42, EventID: "ev-1", OrgID: "acme", TeamID: "design", UserID: "ann",
				ProductCode: "REVIT", ProductGroup: "AEC", ProductVersion: "2025", DeviceID: "pc-1",
				Day:             time.Date(2025, 3, 31, 0, 0, 0, 0, time.UTC),
				ChargedAt:       time.Date(2025, 3, 31, 23, 30, 15, 0, time.UTC),
				WindowStart:     time.Date(2025, 3, 31, 23, 30, 15, 0, time.UTC),
				WindowEnd:       time.Date(2025, 4, 1, 23, 30, 15, 0, time.UTC),
				Tokens:          10,
				Renewal:         1,
				SplitPackIDs:    []string{"p1", "p2"},
				SplitTokens:     []int64{4, 6},
				AttributeKeys:   []string{"cost_centre", "project"},
				AttributeValues: []string{"cc-9", "tower"},
			},
		},
		{
			name: "launch covered is not a charge",
			ev: &v1.Event{EventId: "ev-2", OrgId: "acme", TeamId: "design",
				Payload: &v1.Event_LaunchCovered{LaunchCovered: &v1.LaunchCovered{UserId: "ann"}}},
		},
		{
			name: "pack added is not a charge",
			ev: &v1.Event{EventId: "ev-3", OrgId: "acme", TeamId: "design",
				Payload: &v1.Event_PackAdded{PackAdded: &v1.PackAdded{PackId: "p1", Tokens: 100}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			row, ok := RowOf(42, tt.ev)
			require.Equal(t, tt.ok, ok)
			if ok {
				require.Equal(t, tt.want, row)
				require.Len(t, row.Values(), len(Columns))
				require.Equal(t, 202503, row.Partition())
			}
		})
	}
}

func TestRowOfWithoutWindowTimes(t *testing.T) {
	t.Parallel()
	received := time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC)
	row, ok := RowOf(1, &v1.Event{EventId: "e", ServerTime: timestamppb.New(received),
		Payload: &v1.Event_WindowCharged{WindowCharged: &v1.WindowCharged{Tokens: 7}}})
	require.True(t, ok)
	require.Equal(t, received, row.WindowStart)
	require.Equal(t, received.Add(24*time.Hour), row.WindowEnd)
	require.Equal(t, time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), row.Day)
	require.Empty(t, row.SplitPackIDs)
	require.NotNil(t, row.AttributeKeys, "arrays are never nil, so the driver writes []")
}
