package edgeapi

import (
	"context"
	"crypto/ed25519"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/melmastoon/iam/edge/decide"
	"github.com/melmastoon/iam/edge/replica"
	"github.com/melmastoon/iam/internal/jsonbody"
	"github.com/melmastoon/iam/internal/problem"
	"github.com/melmastoon/iam/syncproto"
)

// newTestService is a Service over an empty replica.
func newTestService(tb testing.TB) *Service {
	tb.Helper()
	rep, err := replica.Open(context.Background(), replica.Config{Path: filepath.Join(tb.TempDir(), "replica.db"),
		SystemAnchor: syncproto.SigningKey{Kid: "system", PublicKey: make(ed25519.PublicKey, ed25519.PublicKeySize)}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = rep.Close() })
	d, err := decide.New(context.Background(), decide.Config{Replica: rep, IssuerBase: "https://iam.example.test"})
	if err != nil {
		tb.Fatal(err)
	}
	s, err := New(Config{Decider: d})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// FuzzDecisionRequests feeds arbitrary bodies through the edge's request
// decoding and the Service: every outcome is an answer or a Problem with a
// registered code, never a panic.
func FuzzDecisionRequests(f *testing.F) {
	s := newTestService(f)
	for _, seed := range []string{
		`{"token":"a.b.c"}`,
		`{"token":"eyJhbGciOiJub25lIn0.eyJ0aWQiOiJ4In0."}`,
		`{"account":"a","tenant":"t","permission":"p.q","organization":"o"}`,
		`{"checks":[{"token":"x","permission":"p","organization":"o"}]}`,
		`{"checks":[]}`, `{}`, `[]`, `null`, `{"token":1}`, `{"permission":"` + strings.Repeat("x", 300) + `"}`,
	} {
		for kind := range 3 {
			f.Add(uint8(kind), []byte(seed))
		}
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, kind uint8, body []byte) {
		var err error
		switch kind % 3 {
		case 0:
			var req VerifyRequest
			if err = jsonbody.Decode(body, &req); err == nil {
				_, err = s.Verify(ctx, req)
			}
		case 1:
			var req CheckRequest
			if err = jsonbody.Decode(body, &req); err == nil {
				_, err = s.Check(ctx, req)
			}
		case 2:
			var req BatchRequest
			if err = jsonbody.Decode(body, &req); err == nil {
				var res *BatchResponse
				res, err = s.CheckBatch(ctx, req)
				if err == nil && len(res.Results) != len(req.Checks) {
					t.Fatalf("%d results for %d checks", len(res.Results), len(req.Checks))
				}
			}
		}
		if err == nil {
			return
		}
		var p *Problem
		var pe *problem.Error
		switch {
		case errors.As(err, &p):
			if _, ok := problem.Lookup(problem.Code(p.Code)); !ok || p.Status < 400 {
				t.Fatalf("unregistered problem %+v", p)
			}
		case errors.As(err, &pe):
		default:
			t.Fatalf("untyped error %v", err)
		}
	})
}
