package obs

import (
	"context"
	"fmt"
	"os"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// Environment variables that switch on the OTLP/HTTP exporter. Their values,
// and the other OTEL_EXPORTER_OTLP_* variables (headers, timeout, TLS), are
// read by the exporter itself.
const (
	EnvOTLPEndpoint       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	EnvOTLPTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
)

// instrumentationName names the tracer that this package's middleware and
// query tracer use.
const instrumentationName = "github.com/melmastoon/iam/internal/obs"

// NewTracerProvider returns a tracer provider for serviceName that samples
// every root span and follows the parent's sampling decision otherwise
// (ParentBased(AlwaysSample)). When OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set, spans are batched and exported
// over OTLP/HTTP; otherwise they are created (so trace ids propagate into
// responses, logs and outbox rows) and dropped. The resource carries
// service.name, the SDK attributes and OTEL_RESOURCE_ATTRIBUTES /
// OTEL_SERVICE_NAME, which win over serviceName. It returns an error when the
// resource or the exporter cannot be built. It never sets the otel global
// provider; the caller must call Shutdown to flush and stop the exporter.
func NewTracerProvider(ctx context.Context, serviceName string) (*sdktrace.TracerProvider, error) {
	res, err := resource.New(ctx,
		resource.WithSchemaURL(semconv.SchemaURL),
		resource.WithAttributes(semconv.ServiceName(serviceName)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(),
	)
	if err != nil {
		return nil, fmt.Errorf("obs: tracing resource: %w", err)
	}
	opts := []sdktrace.TracerProviderOption{
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())),
	}
	if os.Getenv(EnvOTLPEndpoint) != "" || os.Getenv(EnvOTLPTracesEndpoint) != "" {
		exp, err := otlptracehttp.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("obs: otlp trace exporter: %w", err)
		}
		opts = append(opts, sdktrace.WithBatcher(exp))
	}
	return sdktrace.NewTracerProvider(opts...), nil
}
