package decide

import (
	"fmt"
	"testing"
)

func BenchmarkVerifyTokenCached(b *testing.B) {
	f := newFixture(b)
	d := f.decider(Config{})
	tok := f.a.token(f.acct, "s")
	if _, err := d.VerifyToken(tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.VerifyToken(tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyTokenUncached(b *testing.B) {
	f := newFixture(b)
	d := f.decider(Config{CacheSize: -1})
	tok := f.a.token(f.acct, "s")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.VerifyToken(tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheck(b *testing.B) {
	f := newFixture(b)
	d := f.decider(Config{})
	leaf := f.orgs[6]
	b.ReportAllocs()
	for b.Loop() {
		if !d.Check(tenantA, f.acct, "perm.0", leaf).Allowed {
			b.Fatal("denied")
		}
	}
}

func BenchmarkCheckTokenCachedParallel(b *testing.B) {
	f := newFixture(b)
	d := f.decider(Config{})
	toks := make([]string, 64)
	for i := range toks {
		toks[i] = f.a.token(f.acct, fmt.Sprint("s", i))
	}
	leaf := f.orgs[6]
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			if dec, _, err := d.CheckToken(toks[i%len(toks)], "perm.0", leaf); err != nil || !dec.Allowed {
				b.Fatal(dec, err)
			}
		}
	})
}
