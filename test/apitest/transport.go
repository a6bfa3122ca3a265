package apitest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
)

type skipKey struct{}

// SkipRequestValidation marks ctx so that requests sent with it are not
// validated against the contract, for tests that deliberately send bad
// input. Their responses are still validated; a request to a route the
// contract lacks is then allowed (and its response not checked).
func SkipRequestValidation(ctx context.Context) context.Context {
	return context.WithValue(ctx, skipKey{}, true)
}

func requestValidationSkipped(ctx context.Context) bool {
	skip, _ := ctx.Value(skipKey{}).(bool)
	return skip
}

// Client returns an HTTP client that sends through base (nil:
// http.DefaultTransport) and validates each request and response against the
// contract, reporting mismatches with t.Errorf. Response bodies stay readable.
func (c *Contract) Client(t testing.TB, base http.RoundTripper) *http.Client {
	if base == nil {
		base = http.DefaultTransport
	}
	return &http.Client{Transport: &transport{contract: c, t: t, base: base}}
}

// transport is the validating http.RoundTripper behind Client.
type transport struct {
	contract *Contract
	t        testing.TB
	base     http.RoundTripper
}

// RoundTrip implements http.RoundTripper. It never modifies req: it sends a
// clone and validates another.
func (tr *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := drain(req.Body)
	if err != nil {
		return nil, fmt.Errorf("apitest: read request body: %w", err)
	}
	skip := requestValidationSkipped(req.Context())
	input := tr.checkRequest(withBody(req, body), skip)
	resp, err := tr.base.RoundTrip(withBody(req, body))
	if err != nil || input == nil {
		return resp, err
	}
	if err := tr.checkResponse(input, resp); err != nil {
		return nil, err
	}
	return resp, nil
}

// checkRequest finds the operation of req and, unless skip, validates req. It
// returns the validation input the response is checked against, or nil when
// the contract has no such operation.
func (tr *transport) checkRequest(req *http.Request, skip bool) *openapi3filter.RequestValidationInput {
	route, params, err := tr.contract.router.FindRoute(req)
	if err != nil {
		if !skip {
			tr.t.Errorf("apitest: %s %s: not in the contract: %v", req.Method, req.URL.Path, err)
		}
		return nil
	}
	input := &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route, Options: tr.contract.opts,
	}
	if skip {
		return input
	}
	if err := openapi3filter.ValidateRequest(req.Context(), input); err != nil {
		tr.t.Errorf("apitest: %s %s: request violates the contract: %v", req.Method, req.URL.Path, err)
	}
	return input
}

// checkResponse validates resp against the operation of input, buffering
// its body and handing the caller a fresh reader over the same bytes.
func (tr *transport) checkResponse(input *openapi3filter.RequestValidationInput, resp *http.Response) error {
	body, err := drain(resp.Body)
	if err != nil {
		return fmt.Errorf("apitest: read response body: %w", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: input,
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                tr.contract.opts,
	}
	if err := openapi3filter.ValidateResponse(input.Request.Context(), out); err != nil {
		tr.t.Errorf("apitest: %s %s -> %d: response violates the contract: %v",
			input.Request.Method, input.Request.URL.Path, resp.StatusCode, err)
	}
	return nil
}

// drain reads and closes rc (which may be nil).
func drain(rc io.ReadCloser) ([]byte, error) {
	if rc == nil || rc == http.NoBody {
		return nil, nil
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// withBody returns a clone of req reading body from the start.
func withBody(req *http.Request, body []byte) *http.Request {
	clone := req.Clone(req.Context())
	if body == nil {
		clone.Body = http.NoBody
		clone.GetBody = func() (io.ReadCloser, error) { return http.NoBody, nil }
		return clone
	}
	clone.Body = io.NopCloser(bytes.NewReader(body))
	clone.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	clone.ContentLength = int64(len(body))
	return clone
}
