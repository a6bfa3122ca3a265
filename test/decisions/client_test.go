package decisions_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/melmastoon/iam/edge/client"
)

// TestServiceGuardsRoutesInBothModes guards a service's route with one line
// against the real edge, over HTTP and in process, and expects the same
// answers from both.
func TestServiceGuardsRoutesInBothModes(t *testing.T) {
	s := newStack(t)
	w := buildWorld(t, s.core)
	token := login(t, s.core, "acme", "alice", alicePassword)
	eventually(t, 30*time.Second, "edge converges", func() bool {
		return s.check(t, map[string]any{"token": token, "permission": "svc0.read", "organization": w.chain[1]}).Allowed
	})
	overHTTP, err := client.New(s.base)
	if err != nil {
		t.Fatal(err)
	}
	modes := map[string]client.Decider{"http": overHTTP, "in-process": s.edge.Service()}
	for mode, d := range modes {
		t.Run(mode, func(t *testing.T) {
			mux := http.NewServeMux()
			mux.Handle("GET /orgs/{org}/svc0", client.Require(d, "svc0.read", client.OrgFromPath("org"))(
				http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					c, ok := client.ClaimsFrom(r.Context())
					if !ok {
						t.Error("no claims in the guarded handler's context")
					}
					_, _ = w.Write([]byte(c.Subject))
				})))
			svc := httptest.NewServer(mux)
			defer svc.Close()
			get := func(org, auth string) int {
				req, _ := http.NewRequest("GET", svc.URL+"/orgs/"+org+"/svc0", nil)
				if auth != "" {
					req.Header.Set("Authorization", auth)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			tests := []struct {
				name, org, auth string
				want            int
			}{
				{"granted five levels up", w.chain[5], "Bearer " + token, 200},
				{"not granted above the binding", w.chain[0], "Bearer " + token, 403},
				{"no token", w.chain[5], "", 401},
				{"refused token", w.chain[5], "Bearer not.a.token", 401},
			}
			for _, tt := range tests {
				if got := get(tt.org, tt.auth); got != tt.want {
					t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
				}
			}
		})
	}
}
