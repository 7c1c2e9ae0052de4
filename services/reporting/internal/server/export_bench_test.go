package server

import (
	"strconv"
	"testing"
	"time"

	"github.com/tokenmeter/tokenmeter/libs/privacy"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/query"
)

// BenchmarkUsageRow builds usage export rows for an organisation that shows
// its people (raw) and for one that does not (pseudonyms of user, device,
// event id and personal attributes), over 1,000 users on 1,000 devices with
// an event id each: the ratio is what pseudonyms cost the exporter.
func BenchmarkUsageRow(b *testing.B) {
	charges := make([]query.Charge, 4096)
	for i := range charges {
		u := "user-" + strconv.Itoa(i%1000)
		charges[i] = query.Charge{Day: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), TeamID: "design", UserID: u, Code: "REVIT",
			Device: u + "-laptop", EventID: u + "-laptop-REVIT-" + strconv.Itoa(i), Tokens: 10,
			Attributes: "project" + query.AttrKV + "P-7" + query.AttrSep + "user" + query.AttrKV + u}
	}
	for _, tc := range []struct {
		name string
		show bool
	}{{"raw", true}, {"pseudonyms", false}} {
		b.Run(tc.name, func(b *testing.B) {
			shown := privacy.New("bench-user-hash-key", privacy.Fixed(tc.show)).For("acme")
			var u usageRows
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				u.row(&charges[i%len(charges)], shown)
			}
		})
	}
}
