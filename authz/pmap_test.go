package authz

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"
)

// TestPmapMatchesMap drives pmap txns and a plain map with the same random
// operations and checks that frozen versions never change afterwards.
func TestPmapMatchesMap(t *testing.T) {
	for _, space := range []uint64{0, 5, 1 << 20} { // 0: real hashes
		t.Run(fmt.Sprintf("hashes=%d", space), func(t *testing.T) {
			const seed = 7
			t.Logf("seed %d", seed)
			runPmap(t, rand.New(rand.NewPCG(seed, space)), space)
		})
	}
}

// testHash maps a key into a hash space of the given size (0 for the real
// hash), so that small spaces force full 64-bit collisions.
func testHash(k OrgID, space uint64) uint64 {
	if space == 0 {
		return hashOf(string(k))
	}
	return hashOf(string(k)) % space * 0x9e3779b97f4a7c15
}

func runPmap(t *testing.T, r *rand.Rand, space uint64) {
	var m pmap[OrgID, int]
	want := map[OrgID]int{}
	type frozen struct {
		m    pmap[OrgID, int]
		want map[OrgID]int
	}
	var history []frozen
	for round := range 50 {
		tx := newPmapTxn(m)
		for range 1 + r.IntN(400) {
			k := OrgID(fmt.Sprintf("k%d", r.IntN(3000)))
			if r.IntN(3) == 0 {
				tx.delHashed(testHash(k, space), k)
				delete(want, k)
			} else {
				tx.setHashed(testHash(k, space), k, round)
				want[k] = round
			}
		}
		m = tx.freeze()
		history = append(history, frozen{m, maps.Clone(want)})
	}
	for i, h := range history {
		if !pmapEquals(h.m, h.want, space) {
			t.Fatalf("version %d differs from its model", i)
		}
	}
}

func pmapEquals(m pmap[OrgID, int], want map[OrgID]int, space uint64) bool {
	if m.len() != len(want) {
		return false
	}
	n := 0
	m.each(func(k OrgID, v int) {
		if w, ok := want[k]; ok && w == v {
			n++
		}
	})
	for k, v := range want {
		if got, ok := m.lookup(testHash(k, space), k); !ok || got != v {
			return false
		}
	}
	if _, ok := m.lookup(testHash("absent", space), "absent"); ok {
		return false
	}
	return n == len(want)
}

func TestPvecCopyOnWrite(t *testing.T) {
	tx := newPvecTxn(pvec[int]{})
	for i := range 3 * chunkSize {
		tx.push(i)
	}
	v1 := tx.freeze()
	tx2 := newPvecTxn(v1)
	*tx2.mut(5) = -5
	tx2.push(99)
	v2 := tx2.freeze()
	if *v1.at(5) != 5 || v1.len() != 3*chunkSize || *v2.at(5) != -5 || v2.len() != 3*chunkSize+1 || *v2.at(3 * chunkSize) != 99 {
		t.Fatalf("copy-on-write broken: v1[5]=%d len %d, v2[5]=%d len %d", *v1.at(5), v1.len(), *v2.at(5), v2.len())
	}
	if v1.chunks[1] != v2.chunks[1] {
		t.Fatal("untouched chunk was copied")
	}
}
