package replica

import (
	"context"
	"strconv"
	"testing"
)

// FuzzApply feeds arbitrary bytes and headers to Apply: it must never
// panic, and a message it rejects must move neither the cursor nor any
// tenant chain.
func FuzzApply(f *testing.F) {
	w := newWorld(f)
	e := openEnv(f, w, "")
	p := w.tenant(f, tenantA)
	e.mustApply(f, p.rotate(f), p.delta(f, TypeTenantCreated, tenantData(tenantA, "A")))
	valid := p.delta(f, TypeAccountCreated, accountData(uid("a"), "active"))
	fresh := w.tenant(f, tenantB).rotate(f)
	f.Add(valid.Data, tenantA, "", "3")
	f.Add(fresh.Data, tenantB, fresh.Headers[HeaderAnchor], "1")
	f.Add([]byte{0xd2, 0x84, 0x40, 0xa0, 0x40, 0x40}, tenantA, "", "")
	f.Add([]byte("garbage"), "", "%%%", "x")
	f.Fuzz(func(t *testing.T, data []byte, tenant, anchor, seq string) {
		cursor := e.StreamCursor()
		seqA, hashA := e.TenantSeq(tenantA)
		tenants := len(e.Tenants())
		m := Message{StreamSeq: cursor + 1, Data: data,
			Headers: map[string]string{HeaderTenant: tenant, HeaderAnchor: anchor, HeaderSeq: seq}}
		res, err := e.Apply(context.Background(), m)
		if err == nil {
			if !res.Duplicate && strconv.FormatUint(res.Seq, 10) != seq && seq != "" {
				t.Fatalf("applied seq %d under header %q", res.Seq, seq)
			}
			return // a genuinely signed delta (from the seeds) or its duplicate
		}
		s, h := e.TenantSeq(tenantA)
		if e.StreamCursor() != cursor || s != seqA || h != hashA || len(e.Tenants()) != tenants {
			t.Fatalf("rejected input (%v) changed the replica", err)
		}
	})
}
