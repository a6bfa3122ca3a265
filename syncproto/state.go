package syncproto

import (
	"fmt"
	"time"
)

// DefaultFreshness is the freshness window used when VerifierConfig leaves
// it zero: core publishes a checkpoint every few seconds, so missing them
// for this long means the stream is frozen or cut.
const DefaultFreshness = 30 * time.Second

// VerifierState is a verifier's persistent cursor. Edges store it in the
// same transaction as the delta it describes (see Verifier.StateAfter).
type VerifierState struct {
	Seq            uint64       `json:"seq"`                // last applied sequence, 0 = none
	Hash           Hash         `json:"hash"`               // chain hash of delta Seq (ZeroHash if none)
	CheckpointTime int64        `json:"checkpoint_time_ms"` // newest accepted checkpoint, unix ms, 0 = none
	Keys           []SigningKey `json:"keys,omitempty"`     // active delta-signing keys
	Retired        []string     `json:"retired,omitempty"`  // retired kids, never valid again
}

// VerifierConfig configures a Verifier for one tenant stream.
type VerifierConfig struct {
	Anchor    TrustAnchor
	Freshness time.Duration // zero means DefaultFreshness
	State     VerifierState // where to resume; the zero value starts at seq 0
}

// CheckAndSetDefaults validates the config and fills in defaults.
func (c *VerifierConfig) CheckAndSetDefaults() error {
	if c.Freshness == 0 {
		c.Freshness = DefaultFreshness
	}
	if c.Freshness < 0 {
		return fmt.Errorf("syncproto: negative freshness window %v", c.Freshness)
	}
	return c.Anchor.validate()
}

// chainState is the verifier's in-memory state; values are replaced, never
// mutated in place.
type chainState struct {
	seq    uint64
	hash   Hash
	cpTime int64
	keys   *Keyring
}

func stateFrom(anchor TrustAnchor, s VerifierState) (chainState, error) {
	keys, err := NewKeyring(anchor, s.Keys, s.Retired)
	if err != nil {
		return chainState{}, err
	}
	if s.Seq == 0 && s.Hash != ZeroHash {
		return chainState{}, fmt.Errorf("%w: state at seq 0 must have the zero hash", ErrMalformed)
	}
	return chainState{seq: s.Seq, hash: s.Hash, cpTime: s.CheckpointTime, keys: keys}, nil
}

func (c chainState) export() VerifierState {
	return VerifierState{
		Seq:            c.seq,
		Hash:           c.hash,
		CheckpointTime: c.cpTime,
		Keys:           c.keys.ActiveKeys(),
		Retired:        c.keys.RetiredKids(),
	}
}
