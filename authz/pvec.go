package authz

// pvec is an immutable, append-only array of T split into chunks of
// chunkSize, so a pvecTxn that changes one element copies the chunk table
// (n/chunkSize pointers) and one chunk.
type pvec[T any] struct {
	chunks []*[chunkSize]T
	n      int
}

const (
	chunkBits = 7
	chunkSize = 1 << chunkBits
)

// at returns a pointer into the immutable array; callers must not write
// through it.
func (v pvec[T]) at(i uint32) *T {
	return &v.chunks[i>>chunkBits][i&(chunkSize-1)]
}

func (v pvec[T]) len() int { return v.n }

// pvecTxn is a mutable working copy of a pvec (see pmapTxn).
type pvecTxn[T any] struct {
	v          pvec[T]
	tableOwned bool
	chunkOwned map[int]bool // allocated with the table copy
}

func newPvecTxn[T any](v pvec[T]) *pvecTxn[T] {
	return &pvecTxn[T]{v: v}
}

func (t *pvecTxn[T]) at(i uint32) *T { return t.v.at(i) }

func (t *pvecTxn[T]) freeze() pvec[T] { return t.v }

// mut returns a writable pointer to element i.
func (t *pvecTxn[T]) mut(i uint32) *T {
	c := int(i >> chunkBits)
	t.ownTable()
	if !t.chunkOwned[c] {
		cp := *t.v.chunks[c]
		t.v.chunks[c] = &cp
		t.chunkOwned[c] = true
	}
	return &t.v.chunks[c][i&(chunkSize-1)]
}

// push appends x and returns its index.
func (t *pvecTxn[T]) push(x T) uint32 {
	i := uint32(t.v.n)
	if t.v.n%chunkSize == 0 {
		t.ownTable()
		t.v.chunks = append(t.v.chunks, new([chunkSize]T))
		t.chunkOwned[len(t.v.chunks)-1] = true
	}
	t.v.n++
	*t.mut(i) = x
	return i
}

func (t *pvecTxn[T]) ownTable() {
	if t.tableOwned {
		return
	}
	t.v.chunks = append(make([]*[chunkSize]T, 0, len(t.v.chunks)+1), t.v.chunks...)
	t.tableOwned, t.chunkOwned = true, map[int]bool{}
}
