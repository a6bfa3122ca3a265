package syncproto

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzDecodeEnvelope: the payload decoder never panics, every error wraps a
// sentinel, and whatever it accepts re-encodes to the same bytes.
func FuzzDecodeEnvelope(f *testing.F) {
	f.Add(payloadOf(f, secondDelta(f, newFixture(f, 1))))
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := DecodeEnvelope(data)
		if err != nil {
			if Reason(err) == "other" {
				t.Fatalf("error without sentinel: %v", err)
			}
			return
		}
		again, err := env.Encode()
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("accepted input does not re-encode identically: %v", err)
		}
	})
}

// FuzzVerify: Verify never panics, never mutates state, classifies every
// rejection, and anything it accepts re-encodes stably.
func FuzzVerify(f *testing.F) {
	fx := newFixture(f, 3)
	for _, msg := range fx.msgs {
		f.Add(msg)
	}
	v := fx.verifierAt(f, 1)
	before := v.State()
	f.Fuzz(func(t *testing.T, msg []byte) {
		env, err := v.Verify(msg, baseTime)
		if err != nil {
			if Reason(err) == "other" || errors.Is(err, ErrNotVerified) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		if _, err := env.Encode(); err != nil {
			t.Fatalf("verified envelope does not re-encode: %v", err)
		}
		if after := v.State(); after.Seq != before.Seq || after.Hash != before.Hash {
			t.Fatal("Verify mutated state")
		}
	})
}
