package projector

import (
	"sort"
	"time"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Row is one row of the charges_v2 table: one WindowCharged event.
type Row struct {
	Seq             uint64
	EventID         string
	OrgID           string
	TeamID          string
	UserID          string
	ProductCode     string
	ProductGroup    string
	ProductVersion  string
	DeviceID        string
	Day             time.Time // UTC midnight of the day the window started
	ChargedAt       time.Time
	WindowStart     time.Time
	WindowEnd       time.Time
	Tokens          int64
	Renewal         uint8
	SplitPackIDs    []string
	SplitTokens     []int64
	AttributeKeys   []string
	AttributeValues []string
}

// Columns are the charges columns an insert names, in the order of Values.
var Columns = []string{
	"seq", "event_id", "org_id", "team_id", "user_id",
	"product_code", "product_group", "product_version", "device_id",
	"day", "charged_at", "window_start", "window_end",
	"tokens", "renewal",
	"split_pack_ids", "split_tokens", "attribute_keys", "attribute_values",
}

// Values returns the row's values in the order of Columns.
func (r *Row) Values() []any {
	return []any{
		r.Seq, r.EventID, r.OrgID, r.TeamID, r.UserID,
		r.ProductCode, r.ProductGroup, r.ProductVersion, r.DeviceID,
		r.Day, r.ChargedAt, r.WindowStart, r.WindowEnd,
		r.Tokens, r.Renewal,
		r.SplitPackIDs, r.SplitTokens, r.AttributeKeys, r.AttributeValues,
	}
}

// Partition is the row's charges partition (toYYYYMM(day)).
func (r *Row) Partition() int { return partitionOf(r.Day) }

// RowOf maps the event stored at seq to a charges row; ok is false for events
// this projection does not hold (everything but WindowCharged).
func RowOf(seq uint64, ev *v1.Event) (row Row, ok bool) {
	wc := ev.GetWindowCharged()
	if wc == nil {
		return Row{}, false
	}
	chargedAt := ev.GetServerTime().AsTime().UTC()
	start := chargedAt
	if wc.GetWindowStart() != nil {
		start = wc.GetWindowStart().AsTime().UTC()
	}
	end := start.Add(24 * time.Hour)
	if wc.GetWindowEnd() != nil {
		end = wc.GetWindowEnd().AsTime().UTC()
	}
	row = Row{
		Seq:             seq,
		EventID:         ev.GetEventId(),
		OrgID:           ev.GetOrgId(),
		TeamID:          ev.GetTeamId(),
		UserID:          wc.GetUserId(),
		ProductCode:     wc.GetProductCode(),
		ProductGroup:    wc.GetProductGroup(),
		ProductVersion:  wc.GetProductVersion(),
		DeviceID:        wc.GetDeviceId(),
		Day:             time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, time.UTC),
		ChargedAt:       chargedAt.Truncate(time.Second),
		WindowStart:     start.Truncate(time.Second),
		WindowEnd:       end.Truncate(time.Second),
		Tokens:          wc.GetTokens(),
		SplitPackIDs:    make([]string, 0, len(wc.GetSplit())),
		SplitTokens:     make([]int64, 0, len(wc.GetSplit())),
		AttributeKeys:   make([]string, 0, len(wc.GetAttributes())),
		AttributeValues: make([]string, 0, len(wc.GetAttributes())),
	}
	if wc.GetRenewal() {
		row.Renewal = 1
	}
	for _, s := range wc.GetSplit() {
		row.SplitPackIDs = append(row.SplitPackIDs, s.GetPackId())
		row.SplitTokens = append(row.SplitTokens, s.GetTokens())
	}
	for k := range wc.GetAttributes() {
		row.AttributeKeys = append(row.AttributeKeys, k)
	}
	sort.Strings(row.AttributeKeys)
	for _, k := range row.AttributeKeys {
		row.AttributeValues = append(row.AttributeValues, wc.GetAttributes()[k])
	}
	return row, true
}

func sortStrings(s []string) { sort.Strings(s) }
