package ca

import (
	"crypto/rand"
	"testing"
)

func BenchmarkIssueDevice(b *testing.B) {
	f := newFixture(b, tenantA, 1)
	f.ca.rand = rand.Reader
	pub, _ := deviceKey(1)
	req := DeviceCertRequest{DeviceID: device1, PublicKey: pub}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, err := f.ca.IssueDevice(req); err != nil {
			b.Fatal(err)
		}
	}
}
