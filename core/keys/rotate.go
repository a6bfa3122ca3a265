package keys

import (
	"io"
	"slices"
	"time"
)

// Transition records one state change made by Rotate or Bootstrap, so the
// caller can persist it and emit the key delta (From is 0 for a new key).
type Transition struct {
	KID      string
	From, To KeyState
	At       time.Time
}

// Bootstrap creates the first key of an empty set, active at once. It is the
// one exception to "publish before signing", allowed only because nothing
// has been signed for the tenant yet: the caller must ship the key with the
// tenant-creation delta before issuing tokens. It returns ErrNotEmpty if s
// already has keys.
func Bootstrap(s KeySet, now time.Time, rand io.Reader) (KeySet, []Transition, error) {
	if len(s.Keys) > 0 {
		return s, nil, ErrNotEmpty
	}
	if err := s.Policy.CheckAndSetDefaults(); err != nil {
		return s, nil, err
	}
	k, err := GenerateSigningKey(rand)
	if err != nil {
		return s, nil, err
	}
	k.State, k.PublishedAt, k.NotBefore = StateActive, now, now
	out := KeySet{Keys: []SigningKey{k}, Policy: s.Policy}
	return out, []Transition{{KID: k.KID, To: StateActive, At: now}}, nil
}

// Rotate advances the set to now, one step of the rotation state machine,
// and returns the new set and what changed (nothing when called again at
// the same time). In order:
//
//  1. retiring keys whose tokens have all expired become retired;
//  2. a next key whose NotBefore has come becomes active, and the previous
//     active key becomes retiring with RetireAt = now;
//  3. when the active key is within PublishLead of the end of its signing
//     period (or there is no active key) and no next key exists, a new key is
//     generated from rand in state next with NotBefore at least PublishLead
//     from now.
//
// A key therefore signs only after it has been published for PublishLead,
// and stays published for MaxTokenTTL+ClockSkew after it stops signing.
// Rotate never deletes keys; retired keys may be pruned by the caller.
func Rotate(s KeySet, now time.Time, rand io.Reader) (KeySet, []Transition, error) {
	if err := s.Policy.CheckAndSetDefaults(); err != nil {
		return s, nil, err
	}
	out := KeySet{Keys: slices.Clone(s.Keys), Policy: s.Policy}
	var tr []Transition
	tr = out.retireExpired(now, tr)
	tr = out.promoteNext(now, tr)
	tr, err := out.scheduleNext(now, rand, tr)
	if err != nil {
		return s, nil, err
	}
	return out, tr, nil
}

func (s *KeySet) retireExpired(now time.Time, tr []Transition) []Transition {
	for i := range s.Keys {
		k := &s.Keys[i]
		if k.State == StateRetiring && !now.Before(s.publishedUntil(*k)) {
			tr = append(tr, Transition{KID: k.KID, From: StateRetiring, To: StateRetired, At: now})
			k.State = StateRetired
		}
	}
	return tr
}

func (s *KeySet) promoteNext(now time.Time, tr []Transition) []Transition {
	next := s.indexOf(StateNext)
	if next < 0 || now.Before(s.Keys[next].NotBefore) {
		return tr
	}
	for i := range s.Keys {
		if k := &s.Keys[i]; k.State == StateActive {
			tr = append(tr, Transition{KID: k.KID, From: StateActive, To: StateRetiring, At: now})
			k.State, k.RetireAt = StateRetiring, now
		}
	}
	s.Keys[next].State = StateActive
	return append(tr, Transition{KID: s.Keys[next].KID, From: StateNext, To: StateActive, At: now})
}

func (s *KeySet) scheduleNext(now time.Time, rand io.Reader, tr []Transition) ([]Transition, error) {
	if s.indexOf(StateNext) >= 0 {
		return tr, nil
	}
	notBefore := now.Add(s.Policy.PublishLead)
	if a := s.indexOf(StateActive); a >= 0 {
		end := s.Keys[a].NotBefore.Add(s.Policy.SigningPeriod)
		if now.Before(end.Add(-s.Policy.PublishLead)) {
			return tr, nil
		}
		notBefore = later(notBefore, end)
	}
	k, err := GenerateSigningKey(rand)
	if err != nil {
		return nil, err
	}
	k.State, k.PublishedAt, k.NotBefore = StateNext, now, notBefore
	s.Keys = append(s.Keys, k)
	return append(tr, Transition{KID: k.KID, To: StateNext, At: now}), nil
}

func (s *KeySet) indexOf(state KeyState) int {
	return slices.IndexFunc(s.Keys, func(k SigningKey) bool { return k.State == state })
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
