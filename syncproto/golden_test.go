package syncproto

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "regenerate testdata/golden.json and the fuzz seed corpus")

const goldenPath = "testdata/golden.json"

// goldenCase is one wire vector: a verifier built from Anchor, State and
// Freshness must answer Expect (a Reason label) for COSE at NowMs.
type goldenCase struct {
	Name        string        `json:"name"`
	COSE        string        `json:"cose_hex"`
	Tenant      string        `json:"anchor_tenant"`
	Kid         string        `json:"anchor_kid"`
	PublicKey   string        `json:"anchor_public_key_hex"`
	State       VerifierState `json:"state"`
	NowMs       int64         `json:"now_ms"`
	FreshnessMs int64         `json:"freshness_ms"`
	Expect      string        `json:"expect"`
	ChainHash   string        `json:"chain_hash,omitempty"` // for "ok" deltas
}

type goldenInput struct {
	name    string
	applied int
	msg     []byte
	now     time.Time
	expect  string
}

func goldenInputs(t testing.TB) []goldenInput {
	f := newFixture(t, 4)
	later := baseTime.Add(time.Hour)
	return []goldenInput{
		{"ok_rotation_seq1_root_signed", 0, f.msgs[0], baseTime, "ok"},
		{"ok_delta_seq2", 1, f.msgs[1], baseTime, "ok"},
		{"ok_checkpoint", 5, checkpoint(t, f, baseTime), baseTime, "ok"},
		{"bad_signature", 1, flipLast(f.msgs[1]), baseTime, "bad_signature"},
		{"alg_not_eddsa", 1, headerVariant(t, f, 1, int64(-7)), baseTime, "bad_signature"},
		{"unknown_key", 1, signedBy(t, f, testSigner(t, "stranger"), 2), baseTime, "unknown_key"},
		{"rotation_by_delta_key", 1, rotationBy(t, f, f.key), baseTime, "unauthorized_key"},
		{"duplicate", 3, f.msgs[2], baseTime, "duplicate"},
		{"rollback", 3, f.msgs[1], baseTime, "rollback"},
		{"gap", 2, f.msgs[4], baseTime, "gap"},
		{"chain", 2, forkedDelta(t, f, 3), baseTime, "chain"},
		{"wrong_tenant", 1, otherTenantDelta(t, f), baseTime, "wrong_tenant"},
		{"stale_checkpoint", 5, checkpoint(t, f, baseTime), later, "stale"},
		{"unsupported_version", 1, headerVariant(t, f, HeaderLabelProtocolVersion, 2), baseTime, "unsupported_version"},
		{"critical_header", 1, critVariant(t, f), baseTime, "critical_header"},
		{"unprotected_header", 1, unprotectedVariant(t, f), baseTime, "malformed"},
		{"trailing_byte", 1, append(bytes.Clone(f.msgs[1]), 0), baseTime, "malformed"},
		{"untagged", 1, f.msgs[1][1:], baseTime, "malformed"},
	}
}

func buildGolden(t testing.TB) []goldenCase {
	f := newFixture(t, 4)
	var out []goldenCase
	for _, in := range goldenInputs(t) {
		c := goldenCase{
			Name: in.name, COSE: hex.EncodeToString(in.msg),
			Tenant: f.anchor.Tenant, Kid: f.anchor.Kid, PublicKey: hex.EncodeToString(f.anchor.PublicKey),
			State: f.verifierAt(t, in.applied).State(), NowMs: in.now.UnixMilli(),
			FreshnessMs: DefaultFreshness.Milliseconds(), Expect: in.expect,
		}
		if in.expect == "ok" {
			c.ChainHash = ChainHash(in.msg).String()
		}
		out = append(out, c)
	}
	return out
}

func TestGoldenVectors(t *testing.T) {
	generated, err := json.MarshalIndent(buildGolden(t), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		writeGolden(t, generated)
	}
	stored, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if !bytes.Equal(bytes.TrimSpace(stored), bytes.TrimSpace(generated)) {
		t.Error("golden.json differs from the bytes this code produces; encoding changed?")
	}
	var cases []goldenCase
	if err := json.Unmarshal(stored, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) { checkGoldenCase(t, c) })
	}
}

func checkGoldenCase(t *testing.T, c goldenCase) {
	pub, _ := hex.DecodeString(c.PublicKey)
	msg, _ := hex.DecodeString(c.COSE)
	v, err := NewVerifier(VerifierConfig{
		Anchor:    TrustAnchor{Tenant: c.Tenant, Kid: c.Kid, PublicKey: pub},
		Freshness: time.Duration(c.FreshnessMs) * time.Millisecond,
		State:     c.State,
	})
	if err != nil {
		t.Fatal(err)
	}
	env, err := v.Verify(msg, time.UnixMilli(c.NowMs))
	if got := Reason(err); got != c.Expect {
		t.Fatalf("got %s (%v), want %s", got, err, c.Expect)
	}
	if c.ChainHash != "" && env.Hash().String() != c.ChainHash {
		t.Fatalf("chain hash %s, want %s", env.Hash(), c.ChainHash)
	}
}

func writeGolden(t *testing.T, generated []byte) {
	if err := os.WriteFile(goldenPath, append(generated, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, in := range goldenInputs(t) {
		writeSeed(t, "FuzzVerify", in.name, in.msg)
		if p, err := parseSign1(in.msg, ContentTypeDelta); err == nil {
			writeSeed(t, "FuzzDecodeEnvelope", in.name, p.payload)
		}
	}
}

func writeSeed(t *testing.T, fuzzName, name string, data []byte) {
	dir := filepath.Join("testdata", "fuzz", fuzzName)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(data)))
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
