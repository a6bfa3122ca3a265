package syncproto

import (
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
)

func snapshotChunks(t testing.TB, f *fixture, by *Signer, n int) [][]byte {
	seq, head := f.chain.Head()
	var out [][]byte
	for i := 0; i < n; i++ {
		s := &Snapshot{Tenant: testTenant, Seq: seq, Hash: head[:], Time: baseTime.UnixMilli(),
			Index: uint32(i), Final: i == n-1, Records: []cbor.RawMessage{must(EncodeData(map[int]int{1: i}))}}
		if i == 0 {
			s.Keys = []SigningKey{f.key.SigningKey()}
		}
		out = append(out, must(by.SignSnapshot(s)))
	}
	return out
}

func TestSnapshotBootstrapThenDeltas(t *testing.T) {
	f := newFixture(t, 5)
	chunks := snapshotChunks(t, f, f.root, 3)
	l, err := NewSnapshotLoader(f.anchor)
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.VerifyChunk(chunks[1])
	wantErr(t, err, ErrGap)
	for _, c := range chunks {
		s, err := l.VerifyChunk(c)
		wantErr(t, err, nil)
		wantErr(t, l.AcceptChunk(s), nil)
	}
	_, err = l.VerifyChunk(chunks[2])
	wantErr(t, err, ErrRollback)
	st, err := l.State()
	wantErr(t, err, nil)
	v, err := NewVerifier(VerifierConfig{Anchor: f.anchor, State: st})
	wantErr(t, err, nil)
	wantErr(t, v.CheckFresh(baseTime.Add(time.Second)), nil)
	next := must(f.chain.Next(delta(t, 6)))
	env, err := v.Verify(next, baseTime)
	wantErr(t, err, nil)
	wantErr(t, v.Accept(env, baseTime), nil)
}

func TestSnapshotRejections(t *testing.T) {
	f := newFixture(t, 2)
	l, _ := NewSnapshotLoader(f.anchor)
	_, err := l.VerifyChunk(snapshotChunks(t, f, f.key, 1)[0])
	wantErr(t, err, ErrUnauthorizedKey)
	_, err = l.VerifyChunk(f.msgs[0])
	wantErr(t, err, ErrMalformed) // a delta is not a snapshot
	_, err = l.VerifyChunk(make([]byte, MaxSnapshotChunkSize+1))
	wantErr(t, err, ErrTooLarge)
	_, err = l.State()
	wantErr(t, err, ErrGap)
	first := snapshotChunks(t, f, f.root, 2)
	s, _ := l.VerifyChunk(first[0])
	wantErr(t, l.AcceptChunk(s), nil)
	f.add(t, must(f.chain.Next(delta(t, 3))))
	_, err = l.VerifyChunk(snapshotChunks(t, f, f.root, 2)[1])
	wantErr(t, err, ErrChainBroken) // chunk of a later snapshot
}
