package server

import (
	"math"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/rules"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/webhook"
)

// mostRefusal bounds a refusal, whatever the request held.
const mostRefusal = 32 << 10

// refusedFields holds a refusal to the contract (InvalidArgument, every
// field named under prefix, bounded, valid UTF-8) and returns the fields.
func refusedFields(t *testing.T, err error, prefix string) []string {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("want InvalidArgument, got %v: %.200s", st.Code(), st.Message())
	}
	if n := proto.Size(st.Proto()); n > mostRefusal {
		t.Fatalf("a %d-byte refusal: %.300s", n, st.Message())
	}
	var fields []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if !strings.HasPrefix(v.GetField(), prefix) || !utf8.ValidString(v.GetDescription()) {
					t.Fatalf("violation %q: %q", v.GetField(), v.GetDescription())
				}
				fields = append(fields, v.GetField())
			}
		}
	}
	if len(fields) == 0 {
		t.Fatalf("InvalidArgument without a named field: %.200s", st.Message())
	}
	return fields
}

// FuzzSetRules: any encoded settings are accepted or refused by name, and
// what is accepted makes a configuration the rules can run on.
func FuzzSetRules(f *testing.F) {
	pct, big, nan := 15.0, 150.0, math.NaN()
	factor, days := 4.0, int32(-3)
	many := make([]float64, 10000)
	for _, r := range []*v1.AlertRules{
		{},
		{LowBalance: &v1.LowBalanceRule{Percent: &pct}, UsageTiers: &v1.UsageTiersRule{Percents: []float64{25, 50}}},
		{LowBalance: &v1.LowBalanceRule{Percent: &big}, Spike: &v1.SpikeRule{Factor: &nan}},
		{UsageTiers: &v1.UsageTiersRule{Percents: many}, PackExpiry: &v1.PackExpiryRule{Days: []int32{90, 0, -1}}},
		{Spike: &v1.SpikeRule{Factor: &factor}, Forecast: &v1.ForecastRule{WithinDays: &days}},
	} {
		data, err := proto.Marshal(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	s := &Server{defaults: rules.Defaults()}
	f.Fuzz(func(t *testing.T, data []byte) {
		settings := &v1.AlertRules{}
		if proto.Unmarshal(data, settings) != nil {
			return
		}
		err := s.checkSettings(settings)
		if err != nil {
			refusedFields(t, err, "settings.")
			return
		}
		c := rules.WithSettings(s.defaults, settings)
		if len(c.UsageTiers.Percents) > rules.MaxListSetting || len(c.PackExpiry.Days) > rules.MaxListSetting ||
			!(c.LowBalance.Percent > 0 && c.LowBalance.Percent < 100) || !(c.Spike.Factor > 1) {
			t.Fatalf("accepted %v", c)
		}
	})
}

// FuzzSetWebhook: a webhook is refused by name in a bounded answer, or it
// meets every documented limit.
func FuzzSetWebhook(f *testing.F) {
	long := strings.Repeat("x", 70<<10)
	f.Add("chat", "design", "https://hooks.example.com/t", "low_balance", "", int32(0))
	f.Add("pager", "design", "http://127.0.0.1:9/x", "", "a-secret-of-sixteen+", int32(2))
	f.Add("", "", "", "", "", int32(0))
	f.Add("a.b", "*", "ftp://x", "a b", "short", int32(99))
	f.Add(long, long, "https://"+long, long, long, int32(-1))
	f.Add("é", "_catalog", "https://\xff/", "\x00", strings.Repeat("s", 300), int32(1))
	f.Add("chat", "design", "https://10.0.0.1/x", "", "", int32(0))
	f.Add("chat", "design", "https://[::ffff:169.254.169.254]/", "", "", int32(0))
	hooks, err := webhook.NewPolicy(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, id, team, rawURL, kind, secret string, severity int32) {
		h := &v1.Webhook{WebhookId: id, TeamId: team, Url: rawURL, Kinds: []string{kind}, Secret: secret, MinSeverity: v1.Severity(severity)}
		err := checkWebhook(h, hooks)
		if err != nil {
			refusedFields(t, err, "webhook.")
			return
		}
		u, perr := url.Parse(rawURL)
		if !eventlog.ValidID(id) || !eventlog.ValidID(team) || !eventlog.ValidID(kind) || perr != nil ||
			u.Scheme != "https" || internalHost(u.Hostname()) || len(rawURL) > maxWebhookURL ||
			(secret != "" && (len(secret) < minWebhookSecret || len(secret) > maxWebhookSecret)) {
			t.Fatalf("accepted %v", h)
		}
	})
}

// internalHost reports an address literal a webhook may not name by default.
func internalHost(h string) bool {
	ip, err := netip.ParseAddr(h)
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() ||
		netip.MustParsePrefix("100.64.0.0/10").Contains(ip)
}
