package keys

import (
	"crypto/rand"
	"errors"
	mrand "math/rand/v2"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func testPolicy() RotationPolicy {
	return RotationPolicy{PublishLead: time.Hour, SigningPeriod: 24 * time.Hour, MaxTokenTTL: 10 * time.Minute, ClockSkew: 30 * time.Second}
}

func mustRotate(t *testing.T, s KeySet, now time.Time) (KeySet, []Transition) {
	t.Helper()
	out, tr, err := Rotate(s, now, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return out, tr
}

func kids(ks []SigningKey) []string {
	var out []string
	for _, k := range ks {
		out = append(out, k.KID)
	}
	return out
}

func TestRotationTimeline(t *testing.T) {
	p := testPolicy()
	s, tr, err := Bootstrap(KeySet{Policy: p}, t0, rand.Reader)
	if err != nil || len(tr) != 1 || tr[0].To != StateActive {
		t.Fatalf("Bootstrap: %v %v", tr, err)
	}
	first, _ := s.Signer(t0)
	if _, _, err := Bootstrap(s, t0, rand.Reader); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("second Bootstrap: %v", err)
	}

	// Nothing to do until PublishLead before the end of the period.
	if _, tr := mustRotate(t, s, t0.Add(22*time.Hour)); len(tr) != 0 {
		t.Fatalf("early rotate changed %v", tr)
	}

	// The next key is published, not signing.
	s, tr = mustRotate(t, s, t0.Add(23*time.Hour))
	if len(tr) != 1 || tr[0].To != StateNext {
		t.Fatalf("schedule: %v", tr)
	}
	next := s.Keys[1]
	if !next.NotBefore.Equal(t0.Add(24 * time.Hour)) {
		t.Fatalf("next NotBefore = %v", next.NotBefore)
	}
	if got, _ := s.Signer(t0.Add(23 * time.Hour)); got.KID != first.KID {
		t.Fatal("next key signs before its NotBefore")
	}
	if pub := kids(s.Published(t0.Add(23 * time.Hour))); len(pub) != 2 {
		t.Fatalf("published %v, want both keys", pub)
	}
	if _, tr := mustRotate(t, s, t0.Add(23*time.Hour)); len(tr) != 0 {
		t.Fatalf("Rotate is not idempotent: %v", tr)
	}

	// Promotion: next signs, the old key is retiring but still published.
	at := t0.Add(24 * time.Hour)
	s, tr = mustRotate(t, s, at)
	if len(tr) != 2 {
		t.Fatalf("promote: %v", tr)
	}
	if got, _ := s.Signer(at); got.KID != next.KID {
		t.Fatal("promoted key does not sign")
	}
	until := at.Add(p.MaxTokenTTL + p.ClockSkew)
	if _, err := s.PublicKey(first.KID, until.Add(-time.Second)); err != nil {
		t.Fatal("retiring key unpublished while its tokens may be valid")
	}
	if _, err := s.PublicKey(first.KID, until); !errors.Is(err, ErrUnknownKey) {
		t.Fatal("retiring key published after all its tokens expired")
	}

	// Retirement.
	s, tr = mustRotate(t, s, until)
	if len(tr) != 1 || tr[0].KID != first.KID || tr[0].To != StateRetired {
		t.Fatalf("retire: %v", tr)
	}
	if jw := s.JWKS(until); len(jw.Keys) != 1 || jw.Keys[0].Kid != next.KID {
		t.Fatalf("JWKS after retire = %+v", jw)
	}
}

func TestRotateEmptySetPublishesFirst(t *testing.T) {
	s, tr := mustRotate(t, KeySet{Policy: testPolicy()}, t0)
	if len(tr) != 1 || tr[0].To != StateNext {
		t.Fatalf("empty rotate: %v", tr)
	}
	if _, err := s.Signer(t0); !errors.Is(err, ErrNoSigningKey) {
		t.Fatal("a key signs before it was published for PublishLead")
	}
	s, _ = mustRotate(t, s, t0.Add(time.Hour))
	if _, err := s.Signer(t0.Add(time.Hour)); err != nil {
		t.Fatalf("no signer after the lead: %v", err)
	}
}

func TestRotationPolicyInvalid(t *testing.T) {
	bad := RotationPolicy{PublishLead: 2 * time.Hour, SigningPeriod: time.Hour}
	if _, _, err := Rotate(KeySet{Policy: bad}, t0, rand.Reader); !errors.Is(err, ErrInvalidPolicy) {
		t.Fatalf("err = %v", err)
	}
}

func TestZeroPolicyKeepsRetiringKeyPublished(t *testing.T) {
	k, _ := GenerateSigningKey(rand.Reader)
	k.State, k.RetireAt = StateRetiring, t0
	s := KeySet{Keys: []SigningKey{k}} // zero policy: defaults apply
	if _, err := s.PublicKey(k.KID, t0.Add(DefaultMaxTokenTTL)); err != nil {
		t.Fatal("zero policy unpublished a retiring key too early")
	}
}

// TestRotationRuleSimulation drives Rotate with irregular steps over many
// periods and checks the rule at every step: a key signs only after it has
// been published for PublishLead, and stays published for MaxTokenTTL +
// ClockSkew after its last signature.
func TestRotationRuleSimulation(t *testing.T) {
	p := testPolicy()
	rng := mrand.New(mrand.NewPCG(1, 2))
	s, _, _ := Bootstrap(KeySet{Policy: p}, t0, rand.Reader)
	firstPublished := map[string]time.Time{s.Keys[0].KID: t0.Add(-p.PublishLead)} // bootstrap exception
	lastSigned := map[string]time.Time{}
	now := t0
	for step := 0; step < 3000; step++ {
		now = now.Add(time.Duration(rng.IntN(int(40 * time.Minute))))
		if rng.IntN(3) > 0 {
			s, _ = mustRotate(t, s, now)
		}
		for _, k := range s.Published(now) {
			if _, ok := firstPublished[k.KID]; !ok {
				firstPublished[k.KID] = now
			}
		}
		for kid, last := range lastSigned {
			if _, err := s.PublicKey(kid, now); err != nil && now.Before(last.Add(p.MaxTokenTTL+p.ClockSkew)) {
				t.Fatalf("step %d: key %s unpublished while a token it signed at %v is valid", step, kid, last)
			}
		}
		signer, err := s.Signer(now)
		if err != nil {
			continue
		}
		if pub, ok := firstPublished[signer.KID]; !ok || now.Sub(pub) < p.PublishLead {
			t.Fatalf("step %d: key signs %v after being published", step, now.Sub(pub))
		}
		lastSigned[signer.KID] = now
	}
	if len(firstPublished) < 10 {
		t.Fatalf("only %d keys over the simulation", len(firstPublished))
	}
}
