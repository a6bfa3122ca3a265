package devcert

import (
	"math/big"
	"testing"
)

func TestParseCACert(t *testing.T) {
	a := newFixture(t, tenantA, 1)
	b := newFixture(t, tenantB, 2)
	if got := CACommonName(tenantA, RoleRoot); got != "tenant "+tenantA+" root CA" || len(got) > 64 {
		t.Errorf("root CN %q", got)
	}
	if got := CACommonName(tenantA, RoleIssuing); got != "tenant "+tenantA+" issuing CA" || len(got) > 64 {
		t.Errorf("issuing CN %q", got)
	}
	for _, tc := range []struct {
		name   string
		der    []byte
		tenant string
		role   Role
		err    error
	}{
		{"root", a.root.Raw, tenantA, RoleRoot, nil},
		{"issuing", a.issuing.Raw, tenantA, RoleIssuing, nil},
		{"root as issuing", a.root.Raw, tenantA, RoleIssuing, ErrMalformed},
		{"issuing as root", a.issuing.Raw, tenantA, RoleRoot, ErrMalformed},
		{"leaf as issuing", a.issue(t, device1), tenantA, RoleIssuing, ErrMalformed},
		{"other tenant's root", b.root.Raw, tenantA, RoleRoot, ErrWrongTenant},
		{"other tenant's issuing", b.issuing.Raw, tenantA, RoleIssuing, ErrWrongTenant},
		{"unknown role", a.root.Raw, tenantA, Role("leaf"), ErrMalformed},
		{"garbage", []byte("not DER"), tenantA, RoleRoot, ErrMalformed},
		{"oversized", make([]byte, MaxCertBytes+1), tenantA, RoleRoot, ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseCACert(tc.der, tc.tenant, tc.role)
			wantErr(t, err, tc.err)
			if err == nil && c.Subject.CommonName != CACommonName(tc.tenant, tc.role) {
				t.Errorf("CN %q", c.Subject.CommonName)
			}
		})
	}
}

func TestFormatSerial(t *testing.T) {
	for _, tc := range []struct {
		n    *big.Int
		want string
	}{
		{big.NewInt(1), "00000000000000000000000000000001"},
		{new(big.Int).Lsh(big.NewInt(1), 127), "80000000000000000000000000000000"},
		{new(big.Int).SetBytes([]byte{0xab, 0xcd}), "0000000000000000000000000000abcd"},
	} {
		if got := FormatSerial(tc.n); got != tc.want {
			t.Errorf("FormatSerial(%v) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

func TestIsCanonicalUUID(t *testing.T) {
	for s, want := range map[string]bool{
		tenantA:                                true,
		device1:                                true,
		"00000000-0000-0000-0000-000000000000": false,
		"0190F0A9-0000-7000-8000-000000000001": false,
		"{" + device1 + "}":                    false,
		"0190f0a9000070008000000000000001":     false,
		"0190f0a9-0000-7000-8000-00000000000g": false,
		"":                                     false,
	} {
		if got := IsCanonicalUUID(s); got != want {
			t.Errorf("IsCanonicalUUID(%q) = %v", s, got)
		}
	}
}
