package device

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/melmastoon/iam/syncproto"
	"github.com/melmastoon/iam/syncproto/devproto"
)

func TestDeltaOrdering(t *testing.T) {
	f := newFixture(t)
	c := f.client(t)
	ctx := context.Background()
	var changes []State
	c.OnChange(func(s State) { changes = append(changes, s) })

	d2, d3 := f.delta(t, 2, StatusActive), f.delta(t, 3, StatusActive)
	if err := c.applyDelta(ctx, d2); err != nil {
		t.Fatal(err)
	}
	if err := c.applyDelta(ctx, d3); err != nil {
		t.Fatal(err)
	}
	if got := c.Current(); got.Cursor != 3 || !got.ServerTime.Equal(t0.Add(3*time.Hour)) {
		t.Fatalf("after 2 and 3: cursor %d server time %s", got.Cursor, got.ServerTime)
	}
	if err := c.applyDelta(ctx, d3); err != nil {
		t.Fatalf("duplicate: %v, want nil (ignored)", err)
	}
	if err := c.applyDelta(ctx, d2); !errors.Is(err, ErrRollback) || !errors.Is(err, ErrRejectedDelta) {
		t.Fatalf("rollback: %v, want ErrRollback", err)
	}
	if got := c.Current(); got.Cursor != 3 {
		t.Fatalf("cursor %d after rollback, want 3", got.Cursor)
	}
	st := c.Stats()
	if st.Applied != 2 || st.Duplicates != 1 || st.Rollbacks != 1 {
		t.Fatalf("stats %+v", st)
	}
	if len(changes) != 2 || changes[1].Cursor != 3 {
		t.Fatalf("callbacks %+v", changes)
	}
	// Persisted.
	c.Close()
	c2, err := Open(f.dir, f.options())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if got := c2.Current(); got.Cursor != 3 || !got.ServerTime.Equal(t0.Add(3*time.Hour)) {
		t.Fatalf("reopened: %+v", got)
	}
}

func TestDeltaRejected(t *testing.T) {
	f := newFixture(t)
	sign := func(t *testing.T, chain *syncproto.Chain, env syncproto.Envelope) []byte {
		t.Helper()
		msg, err := chain.Next(env)
		if err != nil {
			t.Fatal(err)
		}
		return msg
	}
	cases := map[string]func(t *testing.T) []byte{
		"tampered signature": func(t *testing.T) []byte {
			msg := f.delta(t, 5, StatusActive)
			msg[len(msg)-1] ^= 1
			return msg
		},
		"tampered payload": func(t *testing.T) []byte {
			msg := f.delta(t, 5, StatusActive)
			msg[len(msg)/2] ^= 0x20
			return msg
		},
		"other device subject": func(t *testing.T) []byte {
			env := f.envelope(t, f.payload(5, StatusActive))
			env.Subject = otherDevice
			return sign(t, f.chain, env)
		},
		"other device payload": func(t *testing.T) []byte {
			p := f.payload(5, StatusActive)
			p.ID = otherDevice
			env := f.envelope(t, p)
			env.Subject = testDevice
			return sign(t, f.chain, env)
		},
		"other tenant": func(t *testing.T) []byte {
			chain, err := syncproto.NewChain(otherTenant, f.key, 0, syncproto.ZeroHash)
			if err != nil {
				t.Fatal(err)
			}
			return sign(t, chain, f.envelope(t, f.payload(5, StatusActive)))
		},
		"unknown key": func(t *testing.T) []byte {
			chain, _ := syncproto.NewChain(testTenant, newSigner(t, "delta-x"), 0, syncproto.ZeroHash)
			return sign(t, chain, f.envelope(t, f.payload(5, StatusActive)))
		},
		"rotation signed by a delta key": func(t *testing.T) []byte {
			chain, _ := syncproto.NewChain(testTenant, f.key, 0, syncproto.ZeroHash)
			msg, err := chain.Rotate(f.key, newSigner(t, "delta-2"), nil, syncproto.Envelope{ID: uuid.NewString(), Time: t0.UnixMilli(), Source: "iam-core"})
			if err != nil {
				t.Fatal(err)
			}
			return msg
		},
		"other entity type": func(t *testing.T) []byte {
			env := f.envelope(t, f.payload(5, StatusActive))
			env.Type = "melmastoon.iam.account.updated.v1"
			return sign(t, f.chain, env)
		},
		"malformed payload": func(t *testing.T) []byte {
			env := f.envelope(t, f.payload(5, StatusActive))
			env.Data, _ = syncproto.EncodeData(map[string]any{"id": testDevice, "version": 5})
			return sign(t, f.chain, env)
		},
		"garbage": func(*testing.T) []byte { return []byte{0xd2, 0x84, 0x40} },
	}
	for name, mk := range cases {
		t.Run(name, func(t *testing.T) {
			c := f.client(t)
			before := c.Current()
			err := c.applyDelta(context.Background(), mk(t))
			if !errors.Is(err, ErrRejectedDelta) {
				t.Fatalf("got %v, want ErrRejectedDelta", err)
			}
			if after := c.Current(); after != before {
				t.Fatalf("state changed: %+v → %+v", before, after)
			}
			if c.Stats().Rejected != 1 {
				t.Fatalf("stats %+v", c.Stats())
			}
			rec, err := c.st.load(context.Background())
			if err != nil || rec.Entity.Version != 1 || len(rec.Keys) != 1 {
				t.Fatalf("persisted state changed: %+v %v", rec, err)
			}
		})
	}
}

func TestKeyRotationLearned(t *testing.T) {
	f := newFixture(t)
	c := f.client(t)
	ctx := context.Background()
	next := newSigner(t, "delta-2")
	rot, err := f.chain.Rotate(f.root, next, []string{f.key.Kid()}, syncproto.Envelope{ID: uuid.NewString(), Time: t0.Add(time.Hour).UnixMilli(), Source: "iam-core"})
	if err != nil {
		t.Fatal(err)
	}
	// Before the rotation, a delta of the new key is refused.
	early, _ := syncproto.NewChain(testTenant, next, 0, syncproto.ZeroHash)
	msg, _ := early.Next(f.envelope(t, f.payload(2, StatusActive)))
	if err := c.applyDelta(ctx, msg); !errors.Is(err, syncproto.ErrUnknownKey) {
		t.Fatalf("new key before rotation: %v", err)
	}
	if err := c.applyDelta(ctx, rot); err != nil {
		t.Fatal(err)
	}
	if err := c.applyDelta(ctx, rot); err != nil {
		t.Fatalf("rotation again: %v", err)
	}
	if err := c.applyDelta(ctx, f.delta(t, 2, StatusActive)); err != nil {
		t.Fatalf("delta of the new key: %v", err)
	}
	if got := c.Stats(); got.Rotations != 1 || got.Applied != 1 {
		t.Fatalf("stats %+v", got)
	}
	// The retired key is refused, and the keyring survives a reopen.
	old, _ := syncproto.NewChain(testTenant, f.key, 0, syncproto.ZeroHash)
	msg, _ = old.Next(f.envelope(t, f.payload(3, StatusActive)))
	c.Close()
	c2, err := Open(f.dir, f.options())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if err := c2.applyDelta(ctx, msg); !errors.Is(err, syncproto.ErrUnknownKey) {
		t.Fatalf("retired key after reopen: %v", err)
	}
	if err := c2.applyDelta(ctx, f.delta(t, 3, StatusActive)); err != nil {
		t.Fatalf("new key after reopen: %v", err)
	}
}

func TestRevokedDelta(t *testing.T) {
	f := newFixture(t)
	c := f.client(t)
	err := c.applyDelta(context.Background(), f.delta(t, 2, StatusRevoked))
	if !errors.Is(err, ErrRevoked) {
		t.Fatalf("got %v, want ErrRevoked", err)
	}
	if got := c.Current(); got.Status != StatusRevoked || got.Cursor != 2 {
		t.Fatalf("state %+v", got)
	}
}

func TestSnapshotDeltaApplies(t *testing.T) {
	f := newFixture(t)
	c := f.client(t)
	env := f.envelope(t, f.payload(7, StatusActive))
	env.Type = devproto.DeviceSnapshotType
	msg, err := f.chain.Next(env)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.applyDelta(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	if c.Current().Cursor != 7 {
		t.Fatalf("cursor %d", c.Current().Cursor)
	}
}

func TestTrustedTime(t *testing.T) {
	f := newFixture(t)
	c := f.client(t)
	// A delta signed far in the future of the local clock moves the
	// trusted time: the local clock set back cannot revive a certificate.
	p := f.payload(2, StatusActive)
	env := f.envelope(t, p)
	env.Time = t0.Add(certLife + time.Hour).UnixMilli()
	msg, _ := f.chain.Next(env)
	if err := c.applyDelta(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	err := c.checkUsableLocked()
	c.mu.Unlock()
	if !errors.Is(err, ErrCertificateExpired) {
		t.Fatalf("got %v, want ErrCertificateExpired", err)
	}
	if err := c.Sync(context.Background(), SyncConfig{EdgeURL: "http://127.0.0.1:1"}); !errors.Is(err, ErrCertificateExpired) {
		t.Fatalf("Sync: %v", err)
	}
}
