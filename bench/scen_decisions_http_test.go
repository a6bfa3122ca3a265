package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
)

func TestRawConnKeepAliveLengthAndChunked(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/small":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"allowed":true,"echo":` + string(body) + `}`))
		case "/chunked":
			w.WriteHeader(http.StatusTeapot)
			_, _ = w.Write([]byte("part one,"))
			w.(http.Flusher).Flush()
			_, _ = w.Write([]byte(strings.Repeat("x", 5000)))
		case "/close":
			w.Header().Set("Connection", "close")
			_, _ = w.Write([]byte("bye"))
		}
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	for _, kind := range []string{"raw", "nethttp"} {
		d := newDoer(kind, addr)
		ctx := context.Background()
		for i := range 3 {
			st, body, err := d.do(ctx, newPreReq(addr, "/small", []byte(`{"n":1}`)))
			if err != nil || st != 200 || string(body) != `{"allowed":true,"echo":{"n":1}}` {
				t.Fatalf("%s small #%d: %d %q %v", kind, i, st, body, err)
			}
		}
		st, body, err := d.do(ctx, newPreReq(addr, "/chunked", nil))
		if err != nil || st != http.StatusTeapot || string(body) != "part one,"+strings.Repeat("x", 5000) {
			t.Fatalf("%s chunked: %d %d bytes %v", kind, st, len(body), err)
		}
		if n := d.dials(); n != 1 {
			t.Fatalf("%s: %d dials for 4 keep-alive requests, want 1", kind, n)
		}
		if st, body, err = d.do(ctx, newPreReq(addr, "/close", nil)); err != nil || st != 200 || string(body) != "bye" {
			t.Fatalf("%s close: %d %q %v", kind, st, body, err)
		}
		if st, _, err = d.do(ctx, newPreReq(addr, "/small", []byte(`2`))); err != nil || st != 200 {
			t.Fatalf("%s after close: %d %v", kind, st, err)
		}
		if n := d.dials(); n != 2 {
			t.Fatalf("%s: %d dials after a Connection: close, want 2", kind, n)
		}
		d.close()
	}
}

func TestJudge(t *testing.T) {
	var tl decisionTally
	q := &decisionReq{expect: 1}
	if err := judge(q, 200, []byte(`{"allowed":false,"reason":"no_grant"}`), nil, &tl); err != nil {
		t.Fatal(err)
	}
	if err := judge(q, 200, []byte(`{"reason":"x"}`), nil, &tl); err == nil {
		t.Fatal("an answer without a decision must be an error")
	}
	if err := judge(q, 503, []byte(`{}`), nil, &tl); err == nil {
		t.Fatal("a 503 must be an error")
	}
	if tl.denied.Load() != 1 || tl.unexpected.Load() != 1 {
		t.Fatalf("tally %s", tl.String())
	}
}

func TestGCFact(t *testing.T) {
	a := takeGC()
	for range 3 {
		runtime.GC()
	}
	b := takeGC()
	if b.cycles-a.cycles < 3 || b.pauses < a.pauses || b.pauses-a.pauses > 1 {
		t.Fatalf("gc snapshots %+v → %+v", a, b)
	}
	if p := gcFact("gc", a, b); !strings.Contains(p.Value, "GC cycles") {
		t.Fatal(p.Value)
	}
}
