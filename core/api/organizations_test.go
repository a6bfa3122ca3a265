package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/melmastoon/iam/core/store"
	"github.com/melmastoon/iam/test/coretest"
)

// buildTree creates a tree of the given fan-outs per level under one root
// (fanout {4,4,4,4,4}: 1+4+16+64+256+1024 = 1365 nodes, 6 levels) and
// returns the nodes in the expected depth-first pre-order.
func buildTree(t testing.TB, s *store.Store, slug string, fanout []int) []store.OrgID {
	t.Helper()
	var order []store.OrgID
	ctx := context.Background()
	err := s.InTenantSlug(ctx, slug, func(tx *store.Tx) error {
		var grow func(parent *store.OrgID, level int, name string) error
		grow = func(parent *store.OrgID, level int, name string) error {
			o, err := tx.CreateOrganization(ctx, store.Actor{ID: "test"}, name, parent)
			if err != nil {
				return err
			}
			order = append(order, o.ID)
			if level == len(fanout) {
				return nil
			}
			for i := range fanout[level] {
				if err := grow(&o.ID, level+1, fmt.Sprintf("%s.%d", name, i)); err != nil {
					return err
				}
			}
			return nil
		}
		return grow(nil, 0, "root")
	})
	if err != nil {
		t.Fatalf("build tree: %v", err)
	}
	return order
}

func TestSubtreeOf1000OrganizationsSixLevelsDeep(t *testing.T) {
	c := coretest.Start(t)
	c.MustCreate("/api/v1/tenants", map[string]string{"slug": "big", "name": "Big"})
	want := buildTree(t, c.Core.Store(), "big", []int{4, 4, 4, 4, 4})
	if len(want) < 1000 {
		t.Fatalf("tree has %d nodes", len(want))
	}
	var got []string
	depths := map[int]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		r := c.Get(fmt.Sprintf("/api/v1/tenants/big/organizations/%s/subtree?limit=300&cursor=%s", want[0], cursor))
		if r.Status != http.StatusOK {
			t.Fatalf("page %d = %d %s", pages, r.Status, r.Body)
		}
		var p struct {
			Items []struct {
				ID    string `json:"id"`
				Depth int    `json:"depth"`
			} `json:"items"`
			NextCursor string `json:"next_cursor"`
		}
		r.Decode(t, &p)
		for _, it := range p.Items {
			got = append(got, it.ID)
			depths[it.Depth] = true
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	if len(got) != len(want) {
		t.Fatalf("listed %d organizations, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i].String() {
			t.Fatalf("position %d = %s, want %s (depth-first, children in creation order)", i, got[i], want[i])
		}
	}
	if len(depths) != 6 {
		t.Fatalf("depths seen = %v, want 0..5", depths)
	}
	// A subtree of a middle node holds exactly its descendants.
	mid := want[1] // first child of the root: 1+4+16+64+256 nodes
	r := c.Get(fmt.Sprintf("/api/v1/tenants/big/organizations/%s/subtree?limit=1000", mid))
	var p struct{ Items []map[string]any }
	r.Decode(t, &p)
	if len(p.Items) != 341 {
		t.Fatalf("middle subtree = %d nodes, want 341", len(p.Items))
	}
}

func TestOrganizationNavigationAndMove(t *testing.T) {
	f := newFixture(t)
	c := f.c
	anc := c.Get("/api/v1/tenants/acme/organizations/" + f.grandchild + "/ancestors")
	var p struct{ Items []struct{ ID string } }
	anc.Decode(t, &p)
	if len(p.Items) != 2 || p.Items[0].ID != f.root || p.Items[1].ID != f.child {
		t.Fatalf("ancestors = %s", anc.Body)
	}
	kids := c.Get("/api/v1/tenants/acme/organizations/" + f.root + "/children")
	kids.Decode(t, &p)
	if len(p.Items) != 1 || p.Items[0].ID != f.child {
		t.Fatalf("children = %s", kids.Body)
	}
	// Make the child a root; the grandchild moves along with it.
	mv := c.Do(coretest.Request{Method: "POST", Path: "/api/v1/tenants/acme/organizations/" + f.child + "/move",
		Body: `{"parent_id":null}`, Header: map[string]string{"If-Match": `"1"`}})
	if mv.Status != 200 || mv.JSON()["depth"] != float64(0) || mv.Header.Get("ETag") != `"2"` {
		t.Fatalf("move = %d %s", mv.Status, mv.Body)
	}
	g := c.Get("/api/v1/tenants/acme/organizations/" + f.grandchild)
	if g.JSON()["depth"] != float64(1) {
		t.Fatalf("grandchild after move = %s", g.Body)
	}
	roots := c.Get("/api/v1/tenants/acme/organizations")
	roots.Decode(t, &p)
	if len(p.Items) != 2 {
		t.Fatalf("roots after move = %s", roots.Body)
	}
	again := c.Do(coretest.Request{Method: "POST", Path: "/api/v1/tenants/acme/organizations/" + f.child + "/move",
		Body: map[string]any{"parent_id": f.root}, Header: map[string]string{"If-Match": `"1"`}})
	if again.Status != http.StatusPreconditionFailed {
		t.Fatalf("stale move = %d %s", again.Status, again.Body)
	}
}
