package domain_test

import "testing"

func BenchmarkChainHash(b *testing.B) {
	in := baseHashInput()
	in.data = make([]byte, 250)
	in.meta = make([]byte, 60)
	b.ReportAllocs()
	for b.Loop() {
		in.sum()
	}
}
