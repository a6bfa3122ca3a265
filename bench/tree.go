package main

import (
	"context"
	"fmt"
	"sync"

	"github.com/melmastoon/iam/core/store"
)

// treeLevels is the depth of the benchmark tree: depth 0 (the root) to 5.
const treeLevels = 6

// treeFanout returns the smallest fan-out f such that a full tree of
// treeLevels levels (1 + f + … + f^5 nodes) holds at least n nodes. The tree
// is then filled breadth-first and cut at n, so every level but the last is
// full: 1,000 → f=4 (1+4+16+64+256, 659 at depth 5); 100,000 → f=10.
func treeFanout(n int) int {
	for f := 2; ; f++ {
		total, pow := 0, 1
		for range treeLevels {
			total += pow
			pow *= f
		}
		if total >= n {
			return f
		}
	}
}

// loadTree creates a tree of n organizations under a new root with the store
// API (CreateOrganization: shared advisory lock, parent lookup, insert, audit
// row and outbox row, exactly as POST …/organizations does), in few large
// transactions: the root and its children first, then each child's subtree
// in its own transaction, `workers` at a time. It returns the root.
func loadTree(ctx context.Context, st *store.Store, slug string, n, workers int) (store.OrgID, error) {
	f := treeFanout(n)
	actor := store.Actor{ID: "bench"}
	var root store.OrgID
	var tops []store.OrgID
	err := st.InTenantSlug(ctx, slug, func(tx *store.Tx) error {
		r, err := tx.CreateOrganization(ctx, actor, "bench root", nil)
		if err != nil {
			return err
		}
		root = r.ID
		for i := range min(f, n-1) {
			o, err := tx.CreateOrganization(ctx, actor, fmt.Sprintf("unit %d", i), &root)
			if err != nil {
				return err
			}
			tops = append(tops, o.ID)
		}
		return nil
	})
	if err != nil {
		return root, fmt.Errorf("bench: load tree top: %w", err)
	}
	quotas := splitEvenly(n-1-len(tops), len(tops))
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	errs := make([]error, len(tops))
	for i, top := range tops {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = st.InTenantSlug(ctx, slug, func(tx *store.Tx) error {
				return fillBreadthFirst(ctx, tx, actor, top, 1, f, quotas[i])
			})
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return root, fmt.Errorf("bench: load subtree: %w", err)
		}
	}
	return root, nil
}

// fillBreadthFirst creates quota descendants under top (at depth topDepth),
// level by level, fan-out f, never deeper than treeLevels-1.
func fillBreadthFirst(ctx context.Context, tx *store.Tx, actor store.Actor, top store.OrgID, topDepth, f, quota int) error {
	level := []store.OrgID{top}
	for depth := topDepth + 1; depth < treeLevels && quota > 0; depth++ {
		var next []store.OrgID
		for _, parent := range level {
			for i := 0; i < f && quota > 0; i++ {
				o, err := tx.CreateOrganization(ctx, actor, fmt.Sprintf("unit %d", i), &parent)
				if err != nil {
					return err
				}
				next = append(next, o.ID)
				quota--
			}
		}
		level = next
	}
	if quota > 0 {
		return fmt.Errorf("bench: tree too small for quota (%d left)", quota)
	}
	return nil
}

// splitEvenly divides total into parts shares that differ by at most one.
func splitEvenly(total, parts int) []int {
	out := make([]int, parts)
	for i := range out {
		out[i] = total / parts
		if i < total%parts {
			out[i]++
		}
	}
	return out
}
