package password

import "testing"

func BenchmarkHash(b *testing.B) {
	cases := []struct {
		name string
		p    Params
	}{
		{"default_m19MiB_t2_p1", DefaultParams()},
		{"m64MiB_t1_p4", Params{MemoryKiB: 64 * 1024, Time: 1, Threads: 4, SaltLen: 16, KeyLen: 32}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := Hash("correct horse battery staple", c.p); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"_parallel", func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := Hash("correct horse battery staple", c.p); err != nil {
						b.Error(err)
					}
				}
			})
		})
	}
}

func BenchmarkParsePHC(b *testing.B) {
	for b.Loop() {
		if _, err := ParsePHC(validPHC); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheckPolicy(b *testing.B) {
	for b.Loop() {
		_ = CheckPolicy("violet tractor humming")
	}
}
