package syncproto

import (
	"fmt"
	"sync"
	"time"
)

// Verifier checks the messages of one tenant stream. Verify never changes
// its state; Accept commits a verified envelope. It is safe for concurrent
// use, but a stream is meant to be applied by one goroutine in order.
type Verifier struct {
	anchor    TrustAnchor
	freshness time.Duration

	mu sync.RWMutex
	st chainState
}

// receipt is what Verify learned about an envelope; Accept trusts it and
// not the envelope's exported fields, which the caller could have changed.
type receipt struct {
	owner    *Verifier
	hash     Hash
	seq      uint64
	prev     Hash
	rotation *KeyRotation
	cp       *Checkpoint
}

// NewVerifier returns a verifier resuming from cfg.State. It fails if the
// anchor or the state is invalid.
func NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		return nil, err
	}
	st, err := stateFrom(cfg.Anchor, cfg.State)
	if err != nil {
		return nil, err
	}
	return &Verifier{anchor: cfg.Anchor, freshness: cfg.Freshness, st: st}, nil
}

// Verify checks a signed delta or checkpoint against the stream's state and
// returns its envelope. It changes nothing; call Accept after applying.
// Errors wrap one sentinel: ErrTooLarge, ErrMalformed, ErrUnsupportedVersion,
// ErrCriticalHeader, ErrUnknownKey, ErrBadSignature, ErrUnauthorizedKey,
// ErrWrongTenant, ErrDuplicate, ErrRollback, ErrGap, ErrChainBroken or
// ErrStale. now is only compared with checkpoint times.
func (v *Verifier) Verify(msg []byte, now time.Time) (*Envelope, error) {
	if len(msg) > MaxMessageSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(msg), MaxMessageSize)
	}
	p, err := parseSign1(msg, ContentTypeDelta)
	if err != nil {
		return nil, err
	}
	v.mu.RLock()
	st := v.st
	v.mu.RUnlock()
	byRoot, err := verifySignature(st.keys, p)
	if err != nil {
		return nil, err
	}
	env, err := DecodeEnvelope(p.payload)
	if err != nil {
		return nil, err
	}
	r, err := v.newReceipt(env, msg, byRoot)
	if err != nil {
		return nil, err
	}
	if _, err := v.transition(st, r, now); err != nil {
		return nil, err
	}
	env.receipt = r
	return env, nil
}

func verifySignature(keys *Keyring, p *parsedSign1) (byRoot bool, err error) {
	key, byRoot, err := keys.lookup(p.kid)
	if err != nil {
		return false, err
	}
	return byRoot, p.verify(key.verifier)
}

// newReceipt checks the parts of an envelope that do not depend on the
// stream's state and decodes its control payload, if any.
func (v *Verifier) newReceipt(env *Envelope, msg []byte, byRoot bool) (*receipt, error) {
	if env.Tenant != v.anchor.Tenant {
		return nil, fmt.Errorf("%w: %s", ErrWrongTenant, env.Tenant)
	}
	r := &receipt{owner: v, hash: ChainHash(msg), seq: env.Seq, prev: hashFrom(env.Prev)}
	var err error
	switch env.Type {
	case TypeCheckpoint:
		r.cp, err = env.Checkpoint()
	case TypeKeyRotation:
		if !byRoot {
			return nil, fmt.Errorf("%w: key rotation must be signed by the tenant root", ErrUnauthorizedKey)
		}
		r.rotation, err = env.KeyRotation()
	}
	return r, err
}

// transition computes the state after applying r to st, or why it cannot.
func (v *Verifier) transition(st chainState, r *receipt, now time.Time) (chainState, error) {
	if r.cp != nil {
		return v.checkpointTransition(st, r.cp, now)
	}
	if err := checkChain(st, r); err != nil {
		return st, err
	}
	next := st
	next.seq, next.hash = r.seq, r.hash
	if r.rotation != nil {
		keys, err := st.keys.withRotation(r.rotation)
		if err != nil {
			return st, err
		}
		next.keys = keys
	}
	return next, nil
}

func checkChain(st chainState, r *receipt) error {
	switch {
	case r.seq == st.seq && r.hash == st.hash:
		return fmt.Errorf("%w: seq %d", ErrDuplicate, r.seq)
	case r.seq <= st.seq:
		return fmt.Errorf("%w: seq %d, last applied %d", ErrRollback, r.seq, st.seq)
	case r.seq > st.seq+1:
		return fmt.Errorf("%w: seq %d, last applied %d", ErrGap, r.seq, st.seq)
	case r.prev != st.hash:
		return fmt.Errorf("%w: seq %d prev %s, last applied %s", ErrChainBroken, r.seq, r.prev, st.hash)
	}
	return nil
}

// checkpointTransition accepts a checkpoint that is fresh, newer than the
// newest seen, not ahead of the applied sequence, and consistent with the
// applied chain where they overlap.
func (v *Verifier) checkpointTransition(st chainState, cp *Checkpoint, now time.Time) (chainState, error) {
	switch {
	case now.UnixMilli()-cp.Time > v.freshness.Milliseconds():
		return st, fmt.Errorf("%w: checkpoint at %d is older than %v", ErrStale, cp.Time, v.freshness)
	case cp.Time == st.cpTime:
		return st, fmt.Errorf("%w: checkpoint at %d", ErrDuplicate, cp.Time)
	case cp.Time < st.cpTime:
		return st, fmt.Errorf("%w: checkpoint at %d, newest seen %d", ErrRollback, cp.Time, st.cpTime)
	case cp.Seq > st.seq:
		return st, fmt.Errorf("%w: checkpoint at seq %d, last applied %d", ErrGap, cp.Seq, st.seq)
	case cp.Seq == st.seq && hashFrom(cp.Hash) != st.hash:
		return st, fmt.Errorf("%w: checkpoint hash differs at seq %d", ErrChainBroken, cp.Seq)
	}
	next := st
	next.cpTime = cp.Time
	return next, nil
}

// StateAfter returns the state the verifier will have after Accept(env),
// without changing anything, so a caller can persist it with the delta.
// It fails like Accept.
func (v *Verifier) StateAfter(env *Envelope, now time.Time) (VerifierState, error) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	next, err := v.next(env, now)
	if err != nil {
		return VerifierState{}, err
	}
	return next.export(), nil
}

// Accept commits an envelope that Verify returned, after the caller has
// applied it. It re-checks against the current state (which may have moved
// since Verify) and fails with the same errors as Verify, or ErrNotVerified
// if env did not come from this verifier's Verify.
func (v *Verifier) Accept(env *Envelope, now time.Time) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	next, err := v.next(env, now)
	if err != nil {
		return err
	}
	v.st = next
	return nil
}

func (v *Verifier) next(env *Envelope, now time.Time) (chainState, error) {
	if env == nil || env.receipt == nil || env.receipt.owner != v {
		return chainState{}, ErrNotVerified
	}
	return v.transition(v.st, env.receipt, now)
}

// CheckFresh reports ErrStale when the newest accepted checkpoint is older
// than the freshness window at now (or none was ever accepted): the stream
// may be frozen. Edges surface it in readiness and metrics.
func (v *Verifier) CheckFresh(now time.Time) error {
	v.mu.RLock()
	cpTime := v.st.cpTime
	v.mu.RUnlock()
	if cpTime == 0 {
		return fmt.Errorf("%w: no checkpoint accepted yet", ErrStale)
	}
	if age := now.UnixMilli() - cpTime; age > v.freshness.Milliseconds() {
		return fmt.Errorf("%w: newest checkpoint is %dms old", ErrStale, age)
	}
	return nil
}

// State exports the verifier's state for persistence.
func (v *Verifier) State() VerifierState {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.st.export()
}

// Keyring returns the verifier's current keyring (immutable).
func (v *Verifier) Keyring() *Keyring {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.st.keys
}
