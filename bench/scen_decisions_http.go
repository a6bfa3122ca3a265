package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// HTTP load for the decision scenarios: every simulated connection is one
// goroutine with ONE keep-alive TCP connection of its own, so "N
// connections" is exactly N sockets. The default client ("raw") writes
// prepared HTTP/1.1 requests and parses the status line, Content-Length (or
// chunked) and body by hand: a few µs of CPU per request instead of the
// ~20-30 µs of net/http's client, which on 2 shared cores would otherwise
// take a large share from the server being measured. -decide-client nethttp
// uses net/http.Client (one Transport with one connection per goroutine).

// preReq is one prepared request: the full HTTP/1.1 bytes for the raw
// client, and its path and body for net/http.
type preReq struct {
	raw  []byte
	path string
	body []byte
}

func newPreReq(host, path string, body []byte) *preReq {
	var b bytes.Buffer
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", path, host, len(body))
	b.Write(body)
	raw := b.Bytes()
	return &preReq{raw: raw, path: path, body: raw[len(raw)-len(body):]}
}

// httpDoer sends one request on its own connection and returns the status
// and the body (valid until the next call).
type httpDoer interface {
	do(ctx context.Context, r *preReq) (int, []byte, error)
	dials() int
	close()
}

func newDoer(kind, addr string) httpDoer {
	if kind == "nethttp" {
		tr := &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1, IdleConnTimeout: time.Minute, DisableCompression: true}
		nd := &netHTTPDoer{base: "http://" + addr}
		tr.DialContext = func(ctx context.Context, network, a string) (net.Conn, error) {
			nd.ndial.Add(1)
			var d net.Dialer
			return d.DialContext(ctx, network, a)
		}
		nd.client = &http.Client{Transport: tr, Timeout: 30 * time.Second}
		return nd
	}
	return &rawConn{addr: addr}
}

// rawConn is a minimal HTTP/1.1 keep-alive client on one connection.
type rawConn struct {
	addr  string
	c     net.Conn
	br    *bufio.Reader
	body  []byte
	ndial int
}

func (h *rawConn) dials() int { return h.ndial }

func (h *rawConn) close() {
	if h.c != nil {
		_ = h.c.Close()
		h.c = nil
	}
}

func (h *rawConn) do(ctx context.Context, r *preReq) (int, []byte, error) {
	if h.c == nil {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", h.addr)
		if err != nil {
			return 0, nil, err
		}
		h.ndial++
		h.c = c
		if h.br == nil {
			h.br = bufio.NewReaderSize(c, 8<<10)
		} else {
			h.br.Reset(c)
		}
	}
	_ = h.c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := h.c.Write(r.raw); err != nil {
		h.close()
		return 0, nil, err
	}
	status, keep, err := h.readResponse()
	if err != nil || !keep {
		h.close()
	}
	return status, h.body, err
}

var errBadResponse = errors.New("malformed HTTP response")

// readResponse reads one response into h.body; keep reports whether the
// connection stays open.
func (h *rawConn) readResponse() (status int, keep bool, err error) {
	line, err := h.br.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, false, errBadResponse
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, false, errBadResponse
	}
	length, chunked, keep := -1, false, true
	for {
		line, err = h.br.ReadSlice('\n')
		if err != nil {
			return status, false, err
		}
		if len(line) <= 2 {
			break
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return status, false, errBadResponse
		}
		v = bytes.TrimSpace(v)
		switch {
		case asciiEqualFold(k, "content-length"):
			if length, err = strconv.Atoi(string(v)); err != nil || length < 0 {
				return status, false, errBadResponse
			}
		case asciiEqualFold(k, "transfer-encoding"):
			chunked = asciiEqualFold(v, "chunked")
		case asciiEqualFold(k, "connection"):
			keep = !asciiEqualFold(v, "close")
		}
	}
	h.body = h.body[:0]
	switch {
	case chunked:
		for {
			line, err = h.br.ReadSlice('\n')
			if err != nil {
				return status, false, err
			}
			size, err := strconv.ParseInt(string(bytes.TrimSpace(bytes.SplitN(line, []byte(";"), 2)[0])), 16, 32)
			if err != nil || size < 0 {
				return status, false, errBadResponse
			}
			if size == 0 {
				for { // trailers up to the blank line
					if line, err = h.br.ReadSlice('\n'); err != nil {
						return status, false, err
					}
					if len(line) <= 2 {
						return status, keep, nil
					}
				}
			}
			if err := h.readN(int(size)); err != nil {
				return status, false, err
			}
			if _, err := h.br.Discard(2); err != nil {
				return status, false, err
			}
		}
	case length >= 0:
		return status, keep, h.readN(length)
	default: // body up to close
		b, err := io.ReadAll(h.br)
		h.body = append(h.body, b...)
		return status, false, err
	}
}

func (h *rawConn) readN(n int) error {
	start := len(h.body)
	h.body = slices.Grow(h.body, n)[:start+n]
	_, err := io.ReadFull(h.br, h.body[start:])
	return err
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// netHTTPDoer is the net/http client alternative.
type netHTTPDoer struct {
	base   string
	client *http.Client
	body   []byte
	ndial  atomic.Int64
}

func (n *netHTTPDoer) dials() int { return int(n.ndial.Load()) }
func (n *netHTTPDoer) close()     { n.client.CloseIdleConnections() }

func (n *netHTTPDoer) do(ctx context.Context, r *preReq) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", n.base+r.path, bytes.NewReader(r.body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	buf := bytes.NewBuffer(n.body[:0])
	_, err = buf.ReadFrom(resp.Body)
	n.body = buf.Bytes()
	return resp.StatusCode, n.body, err
}

// decisionTally counts the answers of a run by outcome.
type decisionTally struct {
	allowed, denied, unexpected atomic.Int64
}

func (t *decisionTally) String() string {
	a, d := t.allowed.Load(), t.denied.Load()
	if a+d == 0 {
		return "none"
	}
	s := fmt.Sprintf("%d allowed (%.1f%%), %d denied", a, 100*float64(a)/float64(a+d), d)
	if u := t.unexpected.Load(); u > 0 {
		s += fmt.Sprintf("; %d answers differed from the fixture's expectation", u)
	}
	return s
}

var (
	allowedTrue  = []byte(`"allowed":true`)
	allowedFalse = []byte(`"allowed":false`)
	validTrue    = []byte(`"valid":true`)
)

// decisionReq is one request with the answer the fixture expects.
type decisionReq struct {
	req    *preReq
	verify bool
	expect int8 // 1 allowed, -1 denied, 0 any
}

// judge turns a response into an error (nil for a proper answer) and
// tallies the decision.
func judge(q *decisionReq, status int, body []byte, err error, t *decisionTally) error {
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("status %d: %.120s", status, body)
	}
	if q.verify {
		if !bytes.Contains(body, validTrue) {
			return fmt.Errorf("verify: not valid: %.120s", body)
		}
		t.allowed.Add(1)
		return nil
	}
	switch {
	case bytes.Contains(body, allowedTrue):
		t.allowed.Add(1)
		if q.expect < 0 {
			t.unexpected.Add(1)
		}
	case bytes.Contains(body, allowedFalse):
		t.denied.Add(1)
		if q.expect > 0 {
			t.unexpected.Add(1)
		}
	default:
		return fmt.Errorf("no decision in answer: %.120s", body)
	}
	return nil
}

// openDoers makes n doers and sends one request on each (connects them),
// so the measured window has no TCP handshakes.
func openDoers(ctx context.Context, kind, addr string, n int, warm *decisionReq) ([]httpDoer, error) {
	ds := make([]httpDoer, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range ds {
		ds[i] = newDoer(kind, addr)
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			st, body, err := ds[i].do(ctx, warm.req)
			if err = judge(warm, st, body, err, &decisionTally{}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		closeDoers(ds)
		return nil, fmt.Errorf("bench: warming connection: %w", err)
	}
	return ds, nil
}

func closeDoers(ds []httpDoer) {
	for _, d := range ds {
		d.close()
	}
}

func totalDials(ds []httpDoer) int {
	n := 0
	for _, d := range ds {
		n += d.dials()
	}
	return n
}

// httpClosedLoop runs one worker per doer, back to back, for d.
func httpClosedLoop(ctx context.Context, ds []httpDoer, reqs []decisionReq, d time.Duration, t *decisionTally) *Recorder {
	stride := max(1, len(reqs)/len(ds))
	return runClosedLoop(ctx, len(ds), d, 1<<40, func(ctx context.Context, w, seq int) error {
		q := &reqs[(w*stride+seq)%len(reqs)]
		st, body, err := ds[w].do(ctx, q.req)
		return judge(q, st, body, err, t)
	})
}

// openLoopResult is what httpOpenLoop measured.
type openLoopResult struct {
	fromIntended, service, genLag *Recorder
	sent                          int64
}

// httpOpenLoop offers rate requests/s spread over the doers: request i is
// due at start + i/rate and goes out on connection i mod len(ds) (each
// connection sends its requests in order, one at a time, at their due
// times or as soon as the previous answer is in). Latency counts from the
// due time. It stops after n requests (n < 0: when ctx ends).
func httpOpenLoop(ctx context.Context, ds []httpDoer, reqs []decisionReq, rate float64, n int, t *decisionTally) openLoopResult {
	res := openLoopResult{fromIntended: NewRecorder(), service: NewRecorder(), genLag: NewRecorder()}
	c := len(ds)
	start := time.Now().Add(50 * time.Millisecond)
	res.fromIntended.Start(start)
	var last atomic.Int64
	var sent atomic.Int64
	var wg sync.WaitGroup
	for k := range c {
		wg.Go(func() {
			for i := k; (n < 0 || i < n) && ctx.Err() == nil; i += c {
				due := start.Add(time.Duration(float64(i) * float64(time.Second) / rate))
				if d := time.Until(due); d > 0 {
					select {
					case <-ctx.Done():
						return
					case <-time.After(d):
					}
				}
				sentAt := time.Now()
				res.genLag.Record(max(0, sentAt.Sub(due)), nil)
				q := &reqs[i%len(reqs)]
				st, body, err := ds[k].do(ctx, q.req)
				done := time.Now()
				sent.Add(1)
				err = judge(q, st, body, err, t)
				res.fromIntended.Record(done.Sub(due), err)
				res.service.Record(done.Sub(sentAt), err)
				for {
					old := last.Load()
					if done.UnixNano() <= old || last.CompareAndSwap(old, done.UnixNano()) {
						break
					}
				}
			}
		})
	}
	wg.Wait()
	res.fromIntended.Stop(time.Unix(0, last.Load()))
	res.sent = sent.Load()
	return res
}

// checkBody is the JSON of POST /api/v1/check.
type checkBody struct {
	Token        string `json:"token,omitempty"`
	Account      string `json:"account,omitempty"`
	Tenant       string `json:"tenant,omitempty"`
	Permission   string `json:"permission"`
	Organization string `json:"organization"`
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
