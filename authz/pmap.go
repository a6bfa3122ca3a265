package authz

import (
	"hash/maphash"
	"slices"
)

// pmap is an immutable map from a string-like key to V, laid out as a
// two-level trie of fan×fan leaves chosen by the key's hash. A leaf is a
// slice of entries sorted by hash, so a lookup is two array indexes and a
// short binary search over integers, and a copy is one memmove. Readers use
// a pmap as is; a pmapTxn copies only the path to the leaf it changes, so an
// update copies a 512-byte root, a 1.5 KB middle node and one leaf of about
// n/4096 entries (10 KB for a million bindings).
type pmap[K ~string, V any] struct {
	root *pmapRoot[K, V]
	n    int
}

const (
	fanBits = 6
	fan     = 1 << fanBits
)

type (
	pmapRoot[K ~string, V any] [fan]*pmapMid[K, V]
	pmapMid[K ~string, V any]  [fan][]pentry[K, V]
	pentry[K ~string, V any]   struct {
		h uint64
		k K
		v V
	}
)

// hashSeed is fixed for the process so every pmap places a key alike; it is
// set once at start-up and never written again.
var hashSeed = maphash.MakeSeed()

func hashOf(k string) uint64 { return maphash.String(hashSeed, k) }

func slotOf(h uint64) (int, int) {
	return int(h & (fan - 1)), int((h >> fanBits) & (fan - 1))
}

// find returns the index of k in leaf, or where it would be inserted.
func find[K ~string, V any](leaf []pentry[K, V], h uint64, k K) (int, bool) {
	i, _ := slices.BinarySearchFunc(leaf, h, func(e pentry[K, V], h uint64) int {
		switch {
		case e.h < h:
			return -1
		case e.h > h:
			return 1
		}
		return 0
	})
	for ; i < len(leaf) && leaf[i].h == h; i++ {
		if leaf[i].k == k {
			return i, true
		}
	}
	return i, false
}

func (m pmap[K, V]) leafOf(h uint64) []pentry[K, V] {
	if m.root == nil {
		return nil
	}
	i, j := slotOf(h)
	if mid := m.root[i]; mid != nil {
		return mid[j]
	}
	return nil
}

func (m pmap[K, V]) get(k K) (V, bool) { return m.lookup(hashOf(string(k)), k) }

// lookup finds k, whose hash is h.
func (m pmap[K, V]) lookup(h uint64, k K) (V, bool) {
	leaf := m.leafOf(h)
	if i, ok := find(leaf, h, k); ok {
		return leaf[i].v, true
	}
	var zero V
	return zero, false
}

func (m pmap[K, V]) len() int { return m.n }

// each calls fn for every entry, in no particular order.
func (m pmap[K, V]) each(fn func(K, V)) {
	if m.root == nil {
		return
	}
	for _, mid := range m.root {
		if mid == nil {
			continue
		}
		for _, leaf := range mid {
			for _, e := range leaf {
				fn(e.k, e.v)
			}
		}
	}
}

// pmapTxn is a mutable working copy of a pmap. It copies a node the first
// time it writes to it and writes in place after that, so a large batch
// copies each node at most once. Use freeze to get the new pmap; the txn must
// not be used afterwards.
type pmapTxn[K ~string, V any] struct {
	m         pmap[K, V]
	rootOwned bool
	midOwned  uint64
	leafOwned *[fan]uint64 // allocated on the first write
}

func newPmapTxn[K ~string, V any](m pmap[K, V]) *pmapTxn[K, V] {
	return &pmapTxn[K, V]{m: m}
}

func (t *pmapTxn[K, V]) get(k K) (V, bool) { return t.m.get(k) }

// freeze returns the new pmap, first trimming the spare capacity that bulk
// inserts left in owned leaves (it would otherwise be kept forever).
func (t *pmapTxn[K, V]) freeze() pmap[K, V] {
	for i := range fan {
		if t.midOwned&(1<<i) == 0 || t.leafOwned == nil {
			continue
		}
		for j, leaf := range t.m.root[i] {
			if t.leafOwned[i]&(1<<j) != 0 && cap(leaf) > len(leaf)+len(leaf)/8+1 {
				t.m.root[i][j] = slices.Clip(slices.Clone(leaf))
			}
		}
	}
	return t.m
}

func (t *pmapTxn[K, V]) set(k K, v V) { t.setHashed(hashOf(string(k)), k, v) }

func (t *pmapTxn[K, V]) del(k K) { t.delHashed(hashOf(string(k)), k) }

// setHashed sets k, whose hash is h (tests pass colliding hashes).
func (t *pmapTxn[K, V]) setHashed(h uint64, k K, v V) {
	leaf := t.leaf(h)
	i, ok := find(*leaf, h, k)
	if ok {
		(*leaf)[i].v = v
		return
	}
	*leaf = slices.Insert(*leaf, i, pentry[K, V]{h: h, k: k, v: v})
	t.m.n++
}

// delHashed deletes k, whose hash is h, if present.
func (t *pmapTxn[K, V]) delHashed(h uint64, k K) {
	if _, ok := find(t.m.leafOf(h), h, k); !ok {
		return
	}
	leaf := t.leaf(h)
	i, _ := find(*leaf, h, k)
	*leaf = slices.Delete(*leaf, i, i+1)
	t.m.n--
}

// leaf returns a leaf owned by this txn, copying the path to it once.
func (t *pmapTxn[K, V]) leaf(h uint64) *[]pentry[K, V] {
	i, j := slotOf(h)
	if !t.rootOwned {
		t.leafOwned = new([fan]uint64)
		r := new(pmapRoot[K, V])
		if t.m.root != nil {
			*r = *t.m.root
		}
		t.m.root, t.rootOwned = r, true
	}
	if t.midOwned&(1<<i) == 0 {
		mid := new(pmapMid[K, V])
		if old := t.m.root[i]; old != nil {
			*mid = *old
		}
		t.m.root[i] = mid
		t.midOwned |= 1 << i
	}
	mid := t.m.root[i]
	if t.leafOwned[i]&(1<<j) == 0 {
		mid[j] = append(make([]pentry[K, V], 0, len(mid[j])+1), mid[j]...)
		t.leafOwned[i] |= 1 << j
	}
	return &mid[j]
}
