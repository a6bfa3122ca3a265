package api_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/melmastoon/iam/test/coretest"
)

func TestEdgesReportTheirPosition(t *testing.T) {
	c := coretest.Start(t, coretest.WithHub(t.TempDir()))
	nc := c.Core.Hub().Conn()
	report := func(subject string, v any) {
		b, _ := json.Marshal(v)
		if err := nc.Publish(subject, b); err != nil {
			t.Fatal(err)
		}
	}
	// Reports are handled in order: once edge-a shows, the bad ones before it were refused.
	report("iam.edge.status.edge-b", map[string]any{"name": "edge-x", "stream_seq": 9}) // name does not match the subject
	report("iam.edge.status.evil", "not an object")
	report("iam.edge.status.edge-a", map[string]any{"name": "edge-a", "stream_seq": 0, "tenants": 2, "staleness_ms": 1500, "version": "test"})
	var edges struct {
		Items []struct {
			Name           string `json:"name"`
			Tenants        int    `json:"tenants"`
			StalenessMS    int64  `json:"staleness_ms"`
			Lag            uint64 `json:"lag"`
			SinceContactMS int64  `json:"since_contact_ms"`
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.Get("/api/v1/edges").Decode(t, &edges)
		if len(edges.Items) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(edges.Items) != 1 || edges.Items[0].Name != "edge-a" || edges.Items[0].Tenants != 2 || edges.Items[0].StalenessMS != 1500 {
		t.Fatalf("edges = %+v; want only edge-a", edges.Items)
	}
	if r := c.Do(coretest.Request{Method: "GET", Path: "/api/v1/edges", NoAuth: true}); r.Status != 401 {
		t.Fatalf("edges without the bootstrap token = %d", r.Status)
	}
}
