package problem

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// TypeBase prefixes a code to form the problem "type" URI.
const TypeBase = "https://melmastoon.dev/iam/problems/"

// Problem is an RFC 9457 problem details object.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	Code     Code   `json:"code"`
	TraceID  string `json:"traceId,omitempty"`
	// Field names the request field a validation failure concerns.
	Field string `json:"field,omitempty"`
	// Error is the RFC 6749 §5.2 error of the token endpoint, so stock
	// OAuth2 clients read these problems too.
	Error string `json:"error,omitempty"`
	// ErrorDescription accompanies Error (RFC 6749 §5.2).
	ErrorDescription string `json:"error_description,omitempty"`
}

// Error is an error that carries a problem code; handlers return it and the
// response writer turns it into a problem.
type Error struct {
	Code       Code
	Detail     string
	Field      string
	RetryAfter int // seconds; 0 = no Retry-After header
	// OAuthError, when set, is written as the RFC 6749 "error" member.
	OAuthError string
	Err        error
}

func (e *Error) Error() string {
	if e.Detail != "" {
		return string(e.Code) + ": " + e.Detail
	}
	return string(e.Code)
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// New returns an *Error with a code and a detail message.
func New(code Code, detail string) *Error { return &Error{Code: code, Detail: detail} }

// Write writes e as application/problem+json. An unregistered code is
// written as ServiceInternal so nothing unregistered ever reaches a client.
func Write(w http.ResponseWriter, r *http.Request, e *Error, traceID string) {
	spec, ok := registry[e.Code]
	if !ok {
		e = &Error{Code: ServiceInternal}
		spec = registry[ServiceInternal]
	}
	p := Problem{
		Type: TypeBase + string(e.Code), Title: spec.Title, Status: spec.Status,
		Detail: e.Detail, Instance: r.URL.Path, Code: e.Code, TraceID: traceID, Field: e.Field,
	}
	if e.OAuthError != "" {
		p.Error, p.ErrorDescription = e.OAuthError, e.Detail
	}
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	w.WriteHeader(spec.Status)
	_ = json.NewEncoder(w).Encode(p)
}
