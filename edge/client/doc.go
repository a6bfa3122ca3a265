// Package client lets a Go service ask an edge for decisions: is this
// access token valid, may this account use this permission in this
// organization. It speaks the edge's decision API (edge/edgeapi:
// POST /api/v1/verify, /api/v1/check, /api/v1/check/batch, GET
// /api/v1/permissions and /api/v1/flags) and offers HTTP middleware that
// guards a route with one line.
//
// Usage, over HTTP or in process:
//
//	edge, err := client.New("http://127.0.0.1:8081", client.WithAPIToken(apiToken))
//	// handle err
//	mux.Handle("POST /orgs/{org}/invoices", client.Require(edge, "invoices.create", client.OrgFromPath("org"))(createInvoice))
//	// In-process mode: a service that embeds the replica passes its *edgeapi.Service instead:
//	mux.Handle("GET /orgs/{org}/invoices", client.Require(svc, "invoices.read", client.OrgFromPath("org"))(listInvoices))
//
// # Two modes
//
// Decider is the five decision methods of *edgeapi.Service. A service
// that embeds the replica (edge/replica, edge/decide, edgeapi.Service)
// passes its *edgeapi.Service wherever a Decider is wanted: no network,
// same answers, same errors. Any other service runs an edge next to it
// and passes an *HTTP from New. Errors are the same in both modes: a
// refusal of the edge is an *wire.Problem (errors.As), anything else
// (the edge unreachable, a body that is not JSON, a body over
// MaxResponseBytes) is another error.
//
// # HTTP client
//
// HTTP sends JSON, the shared API token if configured (Authorization:
// Bearer), and the W3C Trace Context traceparent of the request's context
// (https://www.w3.org/TR/trace-context/), injected with
// propagation.TraceContext directly: the package touches no global
// OpenTelemetry state. It decodes RFC 9457 application/problem+json
// errors into *wire.Problem and reports the edge's Staleness header
// (seconds the edge's replica has not heard from core) to an optional
// hook. It never retries: a decision is cheap to ask again and the caller
// knows whether it may.
//
// # Middleware
//
// Require and Authenticate read an RFC 6750 bearer token, verify it at
// the edge and store its claims in the request's context (ClaimsFrom);
// Require then checks one permission for the token's account and tenant
// in the organization an OrgFunc picks from the request. They fail
// closed: when the edge cannot answer, the request gets 503 and never
// reaches the handler. Errors are written as application/problem+json
// with MELMASTOON.IAM.* codes (docs/error-codes.md).
//
// During a migration, WithFallback names the handler (typically the
// legacy authentication) that serves requests without a bearer token and
// accounts whose iam_authentication_enabled or iam_authorization_enabled
// flag is off (docs/feature-flags.md). Without a fallback the flags are
// ignored and every request is enforced: there is nothing else to hand it
// to.
package client
