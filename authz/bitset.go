package authz

import "math/bits"

// bitset is a set of interned permission indexes. It is immutable once
// stored in a role.
type bitset []uint64

func (b bitset) has(i uint32) bool {
	w := i >> 6
	return int(w) < len(b) && b[w]&(1<<(i&63)) != 0
}

// with returns b with bit i set, growing it as needed; b is modified in
// place when it has room, so use it only on a bitset being built.
func (b bitset) with(i uint32) bitset {
	w := int(i >> 6)
	for len(b) <= w {
		b = append(b, 0)
	}
	b[w] |= 1 << (i & 63)
	return b
}

// each calls fn for every set bit, in increasing order.
func (b bitset) each(fn func(uint32)) {
	for w, word := range b {
		for word != 0 {
			bit := uint32(bits.TrailingZeros64(word))
			fn(uint32(w)<<6 | bit)
			word &= word - 1
		}
	}
}
