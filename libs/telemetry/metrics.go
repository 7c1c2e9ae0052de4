package telemetry

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// metricsServer serves the process's OpenTelemetry metrics in Prometheus'
// text format at /metrics on a port of its own.
type metricsServer struct {
	http     *http.Server
	listener net.Listener
}

// startMetrics builds the Prometheus reader for the meter provider and
// starts serving it on listen (TLS when tlsConf is set). Every series carries
// service_name, so dashboards and rules tell the services apart whatever the
// scrape job calls them.
func startMetrics(listen string, tlsConf *tls.Config) (sdkmetric.Reader, *metricsServer, error) {
	registry := prometheus.NewRegistry()
	reader, err := otelprom.New(otelprom.WithRegisterer(registry),
		otelprom.WithResourceAsConstantLabels(attribute.NewAllowKeysFilter(semconv.ServiceNameKey)))
	if err != nil {
		return nil, nil, fmt.Errorf("prometheus exporter: %w", err)
	}
	lis, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, nil, fmt.Errorf("metrics listen %s: %w", listen, err)
	}
	if tlsConf != nil {
		lis = tls.NewListener(lis, tlsConf)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, MaxHeaderBytes: 64 << 10}
	m := &metricsServer{http: srv, listener: lis}
	go func() {
		if err := srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = lis.Close()
		}
	}()
	return reader, m, nil
}

func (m *metricsServer) shutdown(ctx context.Context) error {
	if m == nil {
		return nil
	}
	return m.http.Shutdown(ctx)
}

func (m *metricsServer) addr() string {
	if m == nil {
		return ""
	}
	return m.listener.Addr().String()
}

// Must returns an instrument, reporting a creation error (an invalid name: a
// programming error) to OpenTelemetry's handler; the instrument is then a
// no-op, so a service still runs.
func Must[T any](v T, err error) T {
	if err != nil {
		otel.Handle(err)
	}
	return v
}
