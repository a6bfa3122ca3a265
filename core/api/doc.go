// Package api is core's REST API under /api/v1 (net/http, Go 1.22 route
// patterns).
//
// Conventions every route keeps: errors are application/problem+json with a
// registered MELMASTOON.IAM.* code (internal/problem); request bodies are
// size-limited, strictly decoded (unknown fields rejected) and validated with
// the offending field named; every mutating POST honours Idempotency-Key
// (same key and body → the stored response, same key and another body →
// 422); updates return an ETag and honour If-Match (412 on mismatch); lists
// page with an opaque cursor; W3C traceparent is accepted, echoed and carried
// into the audit and outbox rows.
package api
