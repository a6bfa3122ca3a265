package syncproto

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func TestHappyChainWithRotationAndCheckpoints(t *testing.T) {
	f := newFixture(t, 0)
	key2 := testSigner(t, "delta-2")
	for i := 1; i <= 300; i++ {
		switch {
		case i == 150:
			f.add(t, must(f.chain.Rotate(f.root, key2, []string{"delta-1"}, control(i))))
		case i%25 == 0:
			f.add(t, must(f.chain.Checkpoint(control(i), baseTime.Add(time.Duration(i)*time.Second))))
		default:
			f.add(t, must(f.chain.Next(delta(t, i))))
		}
	}
	v := f.verifierAt(t, 0)
	for i, msg := range f.msgs {
		now := baseTime.Add(time.Duration(i) * time.Second)
		env, err := v.Verify(msg, now)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if err := v.Accept(env, now); err != nil {
			t.Fatalf("accept %d: %v", i, err)
		}
	}
	seq, head := f.chain.Head()
	st := v.State()
	if st.Seq != seq || st.Hash != head {
		t.Fatalf("state %d %s, chain head %d %s", st.Seq, st.Hash, seq, head)
	}
	if len(st.Keys) != 1 || st.Keys[0].Kid != "delta-2" || len(st.Retired) != 1 {
		t.Fatalf("keys after rotation: %+v retired %v", st.Keys, st.Retired)
	}
	if err := v.CheckFresh(baseTime.Add(300 * time.Second)); err != nil {
		t.Fatal(err)
	}
}

func TestStateExportImportResumes(t *testing.T) {
	f := newFixture(t, 20)
	v := f.verifierAt(t, 10)
	blob, err := json.Marshal(v.State())
	if err != nil {
		t.Fatal(err)
	}
	var st VerifierState
	if err := json.Unmarshal(blob, &st); err != nil {
		t.Fatal(err)
	}
	v2, err := NewVerifier(VerifierConfig{Anchor: f.anchor, State: st})
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range f.msgs[10:] {
		env, err := v2.Verify(msg, baseTime)
		if err != nil {
			t.Fatal(err)
		}
		after, err := v2.StateAfter(env, baseTime)
		if err != nil {
			t.Fatal(err)
		}
		if err := v2.Accept(env, baseTime); err != nil {
			t.Fatal(err)
		}
		if got := v2.State(); got.Seq != after.Seq || got.Hash != after.Hash {
			t.Fatalf("StateAfter %d, State %d", after.Seq, got.Seq)
		}
	}
}

func TestVerifyRejections(t *testing.T) {
	f := newFixture(t, 5)
	other := testSigner(t, "stranger")
	cases := []struct {
		name    string
		applied int // messages of f applied first
		msg     func(t *testing.T) []byte
		now     time.Time
		want    error
	}{
		{"ok next", 3, func(*testing.T) []byte { return f.msgs[3] }, baseTime, nil},
		{"too large", 0, func(*testing.T) []byte { return make([]byte, MaxMessageSize+1) }, baseTime, ErrTooLarge},
		{"garbage", 0, func(*testing.T) []byte { return []byte("hello") }, baseTime, ErrMalformed},
		{"untagged", 0, func(*testing.T) []byte { return f.msgs[0][1:] }, baseTime, ErrMalformed},
		{"trailing byte", 0, func(*testing.T) []byte { return append(bytes.Clone(f.msgs[0]), 0) }, baseTime, ErrMalformed},
		{"unprotected header", 1, func(t *testing.T) []byte { return unprotectedVariant(t, f) }, baseTime, ErrMalformed},
		{"bad signature", 0, func(*testing.T) []byte { return flipLast(f.msgs[0]) }, baseTime, ErrBadSignature},
		{"alg not EdDSA", 1, func(t *testing.T) []byte { return headerVariant(t, f, 1, int64(-7)) }, baseTime, ErrBadSignature},
		{"unknown kid", 1, func(t *testing.T) []byte { return signedBy(t, f, other, 2) }, baseTime, ErrUnknownKey},
		{"retired kid", 0, func(t *testing.T) []byte { return retiredKidMessage(t) }, baseTime, ErrUnknownKey},
		{"rotation by delta key", 1, func(t *testing.T) []byte { return rotationBy(t, f, f.key) }, baseTime, ErrUnauthorizedKey},
		{"duplicate", 3, func(*testing.T) []byte { return f.msgs[2] }, baseTime, ErrDuplicate},
		{"rollback", 3, func(*testing.T) []byte { return f.msgs[1] }, baseTime, ErrRollback},
		{"gap", 2, func(*testing.T) []byte { return f.msgs[4] }, baseTime, ErrGap},
		{"chain broken", 2, func(t *testing.T) []byte { return forkedDelta(t, f, 3) }, baseTime, ErrChainBroken},
		{"wrong tenant", 1, func(t *testing.T) []byte { return otherTenantDelta(t, f) }, baseTime, ErrWrongTenant},
		{"stale checkpoint", 6, func(t *testing.T) []byte { return checkpoint(t, f, baseTime) }, baseTime.Add(time.Hour), ErrStale},
		{"checkpoint ahead", 3, func(t *testing.T) []byte { return checkpoint(t, f, baseTime) }, baseTime, ErrGap},
		{"unsupported version", 1, func(t *testing.T) []byte { return headerVariant(t, f, HeaderLabelProtocolVersion, 2) }, baseTime, ErrUnsupportedVersion},
		{"critical header", 1, func(t *testing.T) []byte { return critVariant(t, f) }, baseTime, ErrCriticalHeader},
		{"snapshot content type", 1, func(t *testing.T) []byte { return headerVariant(t, f, 3, ContentTypeSnapshot) }, baseTime, ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := f.verifierAt(t, tc.applied)
			before := v.State()
			_, err := v.Verify(tc.msg(t), tc.now)
			wantErr(t, err, tc.want)
			if after := v.State(); after.Seq != before.Seq || after.Hash != before.Hash {
				t.Fatal("Verify changed the state")
			}
		})
	}
}

func TestCheckpointRules(t *testing.T) {
	f := newFixture(t, 3)
	v := f.verifierAt(t, 4)
	wantErr(t, v.CheckFresh(baseTime), ErrStale)
	cp := checkpoint(t, f, baseTime)
	env, err := v.Verify(cp, baseTime.Add(time.Second))
	wantErr(t, err, nil)
	wantErr(t, v.Accept(env, baseTime.Add(time.Second)), nil)
	wantErr(t, v.CheckFresh(baseTime.Add(DefaultFreshness)), nil)
	wantErr(t, v.CheckFresh(baseTime.Add(DefaultFreshness+time.Millisecond)), ErrStale)
	_, err = v.Verify(cp, baseTime.Add(2*time.Second))
	wantErr(t, err, ErrDuplicate)
	_, err = v.Verify(checkpoint(t, f, baseTime.Add(-time.Second)), baseTime)
	wantErr(t, err, ErrRollback)
}

func TestForkedCheckpointIsChainBroken(t *testing.T) {
	f := newFixture(t, 3)
	v := f.verifierAt(t, 4)
	c, _ := NewChain(testTenant, f.key, 4, ChainHash([]byte("a different history")))
	msg := must(c.Checkpoint(control(99), baseTime))
	_, err := v.Verify(msg, baseTime)
	wantErr(t, err, ErrChainBroken)
}

func TestAcceptRejectsForeignAndStaleEnvelopes(t *testing.T) {
	f := newFixture(t, 3)
	v1, v2 := f.verifierAt(t, 1), f.verifierAt(t, 1)
	env, err := v1.Verify(f.msgs[1], baseTime)
	wantErr(t, err, nil)
	wantErr(t, v2.Accept(env, baseTime), ErrNotVerified)
	copied := *env
	copied.receipt = nil
	wantErr(t, v1.Accept(&copied, baseTime), ErrNotVerified)
	wantErr(t, v1.Accept(env, baseTime), nil)
	wantErr(t, v1.Accept(env, baseTime), ErrDuplicate)
	if env.Hash() != ChainHash(f.msgs[1]) {
		t.Fatal("envelope hash differs from chain hash")
	}
}

func TestReasonLabelsAreDistinct(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range reasons {
		label := Reason(r.err)
		if seen[label] || label != r.label || !bytes.HasPrefix([]byte(r.err.Error()), []byte("syncproto: ")) {
			t.Fatalf("label %q for %v", label, r.err)
		}
		seen[label] = true
	}
	if Reason(nil) != "ok" || Reason(errors.New("x")) != "other" {
		t.Fatal("ok/other labels")
	}
}
