package tokenctl

import (
	"testing"
)

// TestTokenctl runs every command group end to end against one dev stack
// (the four services in-process on an embedded NATS and a real ClickHouse).
// The groups run side by side on teams of their own.
func TestTokenctl(t *testing.T) {
	s := startStack(t)
	for _, tt := range []struct {
		name string
		run  func(*testing.T, *stack)
	}{
		{"ledger", testLedger},
		{"history and paging", testHistory},
		{"keys", testKeys},
		{"access", testAccess},
		{"role grants", testGrants},
		{"personal data", testPersonalData},
		{"time zone", testTimeZone},
		{"user directory", testDirectory},
		{"users import", testImport},
		{"users import with groups", testImportGroups},
		{"alert rules and webhooks", testAlerting},
		{"paging", testPaging},
		{"reports and export", testReportsAndExport},
		{"denials and spend", testDenialsAndSpend},
		{"sessions", testSessions},
		{"capacity term and usage", testCapacity},
		{"subscriptions", testSubscriptions},
		{"user groups", testGroups},
		{"planned projects", testPlans},
		{"demo load resumes", testDemoLoadResumes},
		{"errors", testErrors},
		{"completion", testCompletion},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, s)
		})
	}
}
