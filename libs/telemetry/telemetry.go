// Package telemetry sets up OpenTelemetry for a tokenmeter process: traces and
// metrics exported over OTLP when an endpoint is configured, trace context
// propagated through gRPC metadata and NATS headers either way.
package telemetry

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"google.golang.org/grpc/credentials"
)

// Config says where telemetry goes.
type Config struct {
	ServiceName string
	// OTLPEndpoint is an OTLP/gRPC host:port; empty exports nothing.
	OTLPEndpoint string
	// TLS dials the collector (nil: plaintext).
	TLS *tls.Config
	// MetricsListen serves the metrics for Prometheus at /metrics on this
	// host:port (empty: not served), with MetricsTLS when set.
	MetricsListen string
	MetricsTLS    *tls.Config
}

// Telemetry is the process's installed providers.
type Telemetry struct {
	shutdown func(context.Context) error
	metrics  *metricsServer
}

// Shutdown flushes and stops the providers and the metrics server.
func (t *Telemetry) Shutdown(ctx context.Context) error { return t.shutdown(ctx) }

// MetricsAddr is where Prometheus scrapes /metrics ("" when not served).
func (t *Telemetry) MetricsAddr() string { return t.metrics.addr() }

// Setup installs global tracer and meter providers and the W3C propagators.
// Without an endpoint spans are still created and sampled, so trace ids flow
// across services (and show in logs), but nothing is exported.
func Setup(ctx context.Context, cfg Config) (*Telemetry, error) {
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(
		propagation.TraceContext{}, propagation.Baggage{}))

	res, err := resource.Merge(resource.Default(), resource.NewWithAttributes(
		semconv.SchemaURL, semconv.ServiceName(cfg.ServiceName)))
	if err != nil {
		res = resource.Default()
	}
	traceOpts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	meterOpts := []sdkmetric.Option{sdkmetric.WithResource(res)}
	if cfg.OTLPEndpoint != "" {
		traceTransport, metricTransport := otlptracegrpc.WithInsecure(), otlpmetricgrpc.WithInsecure()
		if cfg.TLS != nil {
			creds := credentials.NewTLS(cfg.TLS)
			traceTransport, metricTransport = otlptracegrpc.WithTLSCredentials(creds), otlpmetricgrpc.WithTLSCredentials(creds)
		}
		traceExp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(cfg.OTLPEndpoint), traceTransport)
		if err != nil {
			return nil, fmt.Errorf("otlp trace exporter: %w", err)
		}
		metricExp, err := otlpmetricgrpc.New(ctx, otlpmetricgrpc.WithEndpoint(cfg.OTLPEndpoint), metricTransport)
		if err != nil {
			return nil, fmt.Errorf("otlp metric exporter: %w", err)
		}
		traceOpts = append(traceOpts, sdktrace.WithBatcher(traceExp))
		meterOpts = append(meterOpts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(metricExp)))
	}
	var metrics *metricsServer
	if cfg.MetricsListen != "" {
		reader, m, err := startMetrics(cfg.MetricsListen, cfg.MetricsTLS)
		if err != nil {
			return nil, err
		}
		metrics = m
		meterOpts = append(meterOpts, sdkmetric.WithReader(reader))
	}
	tp := sdktrace.NewTracerProvider(traceOpts...)
	mp := sdkmetric.NewMeterProvider(meterOpts...)
	otel.SetTracerProvider(tp)
	otel.SetMeterProvider(mp)
	return &Telemetry{metrics: metrics, shutdown: func(ctx context.Context) error {
		return errors.Join(metrics.shutdown(ctx), tp.Shutdown(ctx), mp.Shutdown(ctx))
	}}, nil
}
