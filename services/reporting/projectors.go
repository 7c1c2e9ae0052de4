package reporting

import (
	"log/slog"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/projector"
)

// openProjectors builds one reader per stream, which decodes each event
// once for all its tables.
func (s *Service) openProjectors(js jetstream.JetStream, cfg Config, log *slog.Logger) error {
	for _, stream := range []string{eventlog.LedgerStream, eventlog.UsageStream} {
		var tables []projector.Table
		for _, p := range projector.Projections() {
			if p.Stream == stream {
				tables = append(tables, projector.Table{Projection: p, Sink: projector.NewClickHouseSink(s.ch, p)})
			}
		}
		proj, err := projector.NewStream(js, stream, tables, log.With("component", "projector"),
			projector.Options{BatchSize: cfg.FlushRows, FlushInterval: cfg.FlushInterval})
		if err != nil {
			return err
		}
		s.projs = append(s.projs, proj)
	}
	return nil
}
