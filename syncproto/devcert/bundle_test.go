package devcert

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestTrustBundleRoundTrip(t *testing.T) {
	f := newFixture(t, tenantA, 1)
	g := newFixture(t, tenantA, 2)
	roots := [][]byte{g.root.Raw, f.root.Raw, g.root.Raw}
	inters := [][]byte{g.issuing.Raw, f.issuing.Raw}
	b1, err := NewTrustBundle(tenantA, roots, inters, t0)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := NewTrustBundle(tenantA, [][]byte{f.root.Raw, g.root.Raw}, [][]byte{f.issuing.Raw, g.issuing.Raw}, t0)
	if err != nil {
		t.Fatal(err)
	}
	enc := b1.Marshal()
	if !bytes.Equal(enc, b2.Marshal()) {
		t.Fatal("encoding depends on input order or duplicates")
	}
	parsed, err := ParseTrustBundle(enc)
	if err != nil {
		t.Fatal(err)
	}
	if parsed.TenantID() != tenantA || !bytes.Equal(parsed.Marshal(), enc) || len(parsed.Roots()) != 2 || len(parsed.Intermediates()) != 2 {
		t.Fatalf("round trip lost data: %s", enc)
	}
	if _, err := parsed.VerifyDevice([][]byte{g.issue(t, device1)}, t0, 0); err != nil {
		t.Fatal(err)
	}
	enc[0] = 'x'
	if bytes.Equal(enc, b1.Marshal()) {
		t.Fatal("Marshal returned its own buffer")
	}
}

func TestNewTrustBundleRejects(t *testing.T) {
	a := newFixture(t, tenantA, 1)
	a2 := newFixture(t, tenantA, 2)
	b := newFixture(t, tenantB, 3)
	leaf := a.issue(t, device1)
	many := make([][]byte, MaxBundleCerts)
	for i := range many {
		many[i] = a.issuing.Raw
	}
	for _, tc := range []struct {
		name          string
		tenant        string
		roots, inters [][]byte
		now           time.Time
		err           error
	}{
		{"bad tenant id", "A", [][]byte{a.root.Raw}, nil, t0, ErrMalformed},
		{"no root", tenantA, nil, [][]byte{a.issuing.Raw}, t0, ErrMalformed},
		{"roots all expired", tenantA, [][]byte{a.root.Raw}, nil, a.root.NotAfter.Add(time.Second), ErrMalformed},
		{"other tenant's root", tenantA, [][]byte{b.root.Raw}, nil, t0, ErrWrongTenant},
		{"other tenant's intermediate", tenantA, [][]byte{a.root.Raw}, [][]byte{b.issuing.Raw}, t0, ErrWrongTenant},
		{"intermediate without its root", tenantA, [][]byte{a.root.Raw}, [][]byte{a2.issuing.Raw}, t0, ErrUntrusted},
		{"intermediate as root", tenantA, [][]byte{a.issuing.Raw}, nil, t0, ErrMalformed},
		{"root as intermediate", tenantA, [][]byte{a.root.Raw}, [][]byte{a.root.Raw}, t0, ErrMalformed},
		{"leaf as intermediate", tenantA, [][]byte{a.root.Raw}, [][]byte{leaf}, t0, ErrMalformed},
		{"garbage", tenantA, [][]byte{[]byte("not DER")}, nil, t0, ErrMalformed},
		{"oversized certificate", tenantA, [][]byte{make([]byte, MaxCertBytes+1)}, nil, t0, ErrTooLarge},
		{"too many certificates", tenantA, [][]byte{a.root.Raw}, many, t0, ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewTrustBundle(tc.tenant, tc.roots, tc.inters, tc.now)
			wantErr(t, err, tc.err)
		})
	}
}

func TestParseTrustBundleStrict(t *testing.T) {
	a := newFixture(t, tenantA, 1)
	a2 := newFixture(t, tenantA, 2)
	b := newFixture(t, tenantB, 3)
	canon := string(a.bundle.Marshal())
	b64 := base64.StdEncoding.EncodeToString
	rootA, interA := b64(a.root.Raw), b64(a.issuing.Raw)
	wire := func(version int, tenant string, roots, inters []string) string {
		q := func(ss []string) string {
			if ss == nil {
				return "null"
			}
			out, _ := json.Marshal(ss)
			return string(out)
		}
		return `{"version":` + strconv.Itoa(version) + `,"tenant":"` + tenant + `","roots":` + q(roots) + `,"intermediates":` + q(inters) + `}`
	}
	if got := wire(1, tenantA, []string{rootA}, []string{interA}); got != canon {
		t.Fatalf("test encoder disagrees:\n%s\n%s", got, canon)
	}
	two, err := NewTrustBundle(tenantA, [][]byte{a.root.Raw, a2.root.Raw}, nil, t0)
	if err != nil {
		t.Fatal(err)
	}
	var sorted bundleWire
	if err := json.Unmarshal(two.Marshal(), &sorted); err != nil {
		t.Fatal(err)
	}
	unsorted := wire(1, tenantA, []string{b64(sorted.Roots[1]), b64(sorted.Roots[0])}, []string{})

	for _, tc := range []struct {
		name string
		in   string
		err  error
	}{
		{"canonical", canon, nil},
		{"no intermediates", wire(1, tenantA, []string{rootA}, []string{}), nil},
		{"null intermediates", wire(1, tenantA, []string{rootA}, nil), ErrMalformed},
		{"unknown field", strings.Replace(canon, `{"version":1,`, `{"version":1,"extra":0,`, 1), ErrMalformed},
		{"uppercase key", strings.Replace(canon, `"tenant"`, `"Tenant"`, 1), ErrMalformed},
		{"duplicate key", strings.Replace(canon, `"tenant":`, `"tenant":"x","tenant":`, 1), ErrMalformed},
		{"whitespace", strings.Replace(canon, `,"roots"`, `, "roots"`, 1), ErrMalformed},
		{"trailing newline", canon + "\n", ErrMalformed},
		{"trailing value", canon + "{}", ErrMalformed},
		{"reordered fields", `{"tenant":"` + tenantA + `","version":1,"roots":["` + rootA + `"],"intermediates":["` + interA + `"]}`, ErrMalformed},
		{"version 2", wire(2, tenantA, []string{rootA}, []string{interA}), ErrMalformed},
		{"version 0", wire(0, tenantA, []string{rootA}, []string{interA}), ErrMalformed},
		{"unsorted roots", unsorted, ErrMalformed},
		{"duplicate root", wire(1, tenantA, []string{rootA, rootA}, []string{interA}), ErrMalformed},
		{"unpadded base64", strings.ReplaceAll(canon, "=", ""), ErrMalformed},
		{"bundle of another tenant", wire(1, tenantB, []string{rootA}, []string{interA}), ErrWrongTenant},
		{"foreign intermediate", wire(1, tenantA, []string{rootA}, []string{b64(b.issuing.Raw)}), ErrWrongTenant},
		{"uppercase tenant", wire(1, strings.ToUpper(tenantA), []string{rootA}, []string{interA}), ErrMalformed},
		{"not JSON", "\x00", ErrMalformed},
		{"empty", "", ErrMalformed},
		{"array", "[]", ErrMalformed},
		{"too large", canon + strings.Repeat(" ", MaxBundleBytes), ErrTooLarge},
		{"too many certificates", wire(1, tenantA, []string{rootA}, strings.Split(strings.Repeat(interA+",", MaxBundleCerts), ",")[:MaxBundleCerts]), ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTrustBundle([]byte(tc.in))
			wantErr(t, err, tc.err)
			if err == nil && !bytes.Equal(got.Marshal(), []byte(tc.in)) {
				t.Error("accepted a non-canonical encoding")
			}
		})
	}
}
