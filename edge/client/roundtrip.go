package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/propagation"

	"github.com/melmastoon/iam/edge/wire"
)

const (
	userAgent = "melmastoon-iam-edge-client"
	// headerStaleness carries the edge replica's staleness in seconds.
	headerStaleness = "Staleness"
	// drainBytes is how much of an unread body is discarded so the
	// connection can be reused.
	drainBytes = 4 << 10
)

func postJSON[Resp any](ctx context.Context, c *HTTP, op, target string, in any) (*Resp, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("client: %s: encoding request: %w", op, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("client: %s: %w", op, err)
	}
	req.Header.Set("Content-Type", "application/json")
	return roundTrip[Resp](c, op, req)
}

func getJSON[Resp any](ctx context.Context, c *HTTP, op, target string, q url.Values) (*Resp, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target+"?"+q.Encode(), nil)
	if err != nil {
		return nil, fmt.Errorf("client: %s: %w", op, err)
	}
	return roundTrip[Resp](c, op, req)
}

// roundTrip sends req and decodes a 2xx JSON body into a Resp, or returns
// the *wire.Problem of any other status.
func roundTrip[Resp any](c *HTTP, op string, req *http.Request) (*Resp, error) {
	req.Header.Set("Accept", "application/json, application/problem+json")
	req.Header.Set("User-Agent", userAgent)
	if c.apiToken != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiToken)
	}
	propagation.TraceContext{}.Inject(req.Context(), propagation.HeaderCarrier(req.Header))
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("client: %s: %w", op, err)
	}
	defer func() {
		// Drain a little so the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainBytes))
		_ = resp.Body.Close()
	}()
	c.reportStaleness(resp.Header)
	body, err := readLimited(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("client: %s: %w", op, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, decodeProblem(resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	out := new(Resp)
	if err := json.Unmarshal(body, out); err != nil {
		return nil, fmt.Errorf("client: %s: decoding response: %w", op, err)
	}
	return out, nil
}

func readLimited(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading response: %w", err)
	}
	if len(b) > MaxResponseBytes {
		return nil, fmt.Errorf("%w (over %d bytes)", ErrResponseTooLarge, MaxResponseBytes)
	}
	return b, nil
}

// decodeProblem returns the edge's problem, or synthesizes one (without a
// code) when the body is not a problem, e.g. a proxy's HTML error page.
// The HTTP status wins over the body's status member.
func decodeProblem(status int, contentType string, body []byte) *wire.Problem {
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "application/problem+json" || mt == "application/json" {
		var p wire.Problem
		if json.Unmarshal(body, &p) == nil && p.Code != "" {
			p.Status = status
			return &p
		}
	}
	if mt == "" {
		mt = "untyped"
	}
	return &wire.Problem{Type: "about:blank", Title: http.StatusText(status), Status: status,
		Detail: fmt.Sprintf("edge answered %d with a %d-byte %s body that is not a problem", status, len(body), mt)}
}

// reportStaleness passes a valid Staleness header to the hook.
func (c *HTTP) reportStaleness(h http.Header) {
	if c.onStale == nil {
		return
	}
	if d, ok := parseStaleness(h.Get(headerStaleness)); ok {
		c.onStale(d)
	}
}

// parseStaleness reads non-negative seconds (integer or decimal); values
// past time.Duration's range are clamped.
func parseStaleness(v string) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	s, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || math.IsNaN(s) || s < 0 {
		return 0, false
	}
	if s >= float64(math.MaxInt64)/float64(time.Second) {
		return time.Duration(math.MaxInt64), true
	}
	return time.Duration(s * float64(time.Second)), true
}
