package syncproto

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// rawMap encodes a CBOR map from pairs in the given order, allowing the
// duplicates and disorder the encoder never produces.
func rawMap(t testing.TB, pairs [][2]any) []byte {
	t.Helper()
	out := []byte{0xa0 | byte(len(pairs))}
	if len(pairs) >= 24 {
		t.Fatal("rawMap: too many pairs")
	}
	for _, p := range pairs {
		for _, x := range p {
			if raw, ok := x.(cbor.RawMessage); ok {
				out = append(out, raw...)
				continue
			}
			b, err := encMode.Marshal(x)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, b...)
		}
	}
	return out
}

func envelopePairs(t testing.TB) [][2]any {
	e := delta(t, 1)
	return [][2]any{
		{1, e.ID}, {2, e.Time}, {3, e.Source}, {4, e.Subject}, {5, e.Type}, {6, e.DataContentType},
		{7, cbor.RawMessage(e.Data)}, {8, testTenant}, {9, 1}, {10, ZeroHash[:]}, {11, e.Traceparent},
	}
}

func TestDecodeEnvelopeRejects(t *testing.T) {
	valid := rawMap(t, envelopePairs(t))
	if _, err := DecodeEnvelope(valid); err != nil {
		t.Fatalf("baseline: %v", err)
	}
	withData := func(data []byte) []byte {
		p := envelopePairs(t)
		p[6][1] = cbor.RawMessage(data)
		return rawMap(t, p)
	}
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"duplicate key", rawMap(t, append(envelopePairs(t), [2]any{1, "x"})), ErrMalformed},
		{"unsorted keys", rawMap(t, append(envelopePairs(t)[1:], envelopePairs(t)[0])), ErrMalformed},
		{"indefinite map", append(append([]byte{0xbf}, valid[1:]...), 0xff), ErrMalformed},
		{"indefinite data", withData([]byte{0x9f, 0x01, 0xff}), ErrMalformed},
		{"trailing bytes", append(bytes.Clone(valid), 0x00), ErrMalformed},
		{"deep nesting", withData(append(bytes.Repeat([]byte{0x81}, MaxNestedLevels+1), 0x00)), ErrMalformed},
		{"float in data", withData([]byte{0xf9, 0x3c, 0x00}), ErrMalformed},
		{"tag in data", withData([]byte{0xc1, 0x01}), ErrMalformed},
		{"non-minimal int", withData([]byte{0x18, 0x01}), ErrMalformed},
		{"unknown field", rawMap(t, append(envelopePairs(t), [2]any{12, "new"})), ErrMalformed},
		{"prev as array", rawMap(t, replacePair(envelopePairs(t), 9, make([]int, 32))), ErrMalformed},
		{"float time", rawMap(t, replacePair(envelopePairs(t), 1, 1.5)), ErrMalformed},
		{"bad type", rawMap(t, replacePair(envelopePairs(t), 4, "iam.account.created")), ErrMalformed},
		{"uppercase uuid", rawMap(t, replacePair(envelopePairs(t), 7, strings.ToUpper(testTenant))), ErrMalformed},
		{"oversize", make([]byte, MaxMessageSize+1), ErrTooLarge},
		{"empty", nil, ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeEnvelope(tc.in)
			wantErr(t, err, tc.want)
		})
	}
}

func replacePair(p [][2]any, i int, v any) [][2]any {
	p[i][1] = v
	return p
}

func TestTooManyElementsRejected(t *testing.T) {
	big := append([]byte{0x9a}, 0, 0, 0x27, 0x11) // array of 10001
	big = append(big, bytes.Repeat([]byte{0x00}, MaxArrayElements+1)...)
	var v []int
	wantErr(t, DecodeData(big, &v), ErrMalformed)
	ok := append([]byte{0x99}, 0x27, 0x10)
	ok = append(ok, bytes.Repeat([]byte{0x00}, MaxArrayElements)...)
	wantErr(t, DecodeData(ok, &v), nil)
}

func TestReencodeIsIdentical(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 500; i++ {
		e := delta(t, r.IntN(1_000_000))
		e.Tenant, e.Seq, e.Prev = testTenant, r.Uint64N(1<<62)+2, randomBytes(r, HashSize)
		if r.IntN(2) == 0 {
			e.Subject, e.Traceparent = "", ""
		}
		e.Data = must(EncodeData(map[string]any{"n": r.Int64() - r.Int64(), "b": randomBytes(r, r.IntN(40))}))
		first := payloadOf(t, e)
		dec, err := DecodeEnvelope(first)
		if err != nil {
			t.Fatal(err)
		}
		again, err := dec.Encode()
		if err != nil || !bytes.Equal(first, again) {
			t.Fatalf("re-encode differs (%v):\n%x\n%x", err, first, again)
		}
	}
}

func randomBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return b
}

func TestSignerOutputIsCanonical(t *testing.T) {
	f := newFixture(t, 3)
	for _, msg := range f.msgs {
		if _, err := parseSign1(msg, ContentTypeDelta); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCheckCanonical(t *testing.T) {
	cases := []struct {
		in []byte
		ok bool
	}{
		{[]byte{0x00}, true},
		{[]byte{0x17}, true},
		{[]byte{0x18, 0x18}, true},
		{[]byte{0x18, 0x17}, false},
		{[]byte{0x19, 0x00, 0xff}, false},
		{[]byte{0x1a, 0x00, 0x00, 0xff, 0xff}, false},
		{[]byte{0x1b, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}, false},
		{[]byte{0xa2, 0x01, 0x00, 0x02, 0x00}, true},
		{[]byte{0xa2, 0x02, 0x00, 0x01, 0x00}, false},
		{[]byte{0xa2, 0x01, 0x00, 0x01, 0x00}, false},
		{[]byte{0xf4}, true},
		{[]byte{0xf7}, false},
		{[]byte{0xfb, 0, 0, 0, 0, 0, 0, 0, 0}, false},
		{[]byte{0x62, 0xff, 0xfe}, false},
		{[]byte{0x5f, 0xff}, false},
		{[]byte{0x84, 0x00}, false},
		{[]byte{0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, false},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%x", tc.in), func(t *testing.T) {
			if err := checkCanonical(tc.in); (err == nil) != tc.ok {
				t.Fatalf("got %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestEncodeRejectsFloatData(t *testing.T) {
	if _, err := EncodeData(map[int]any{1: 1.5}); err == nil {
		t.Fatal("float data encoded")
	}
	e := delta(t, 1)
	e.Tenant, e.Seq, e.Prev = testTenant, 1, ZeroHash[:]
	e.Data = cbor.RawMessage{0xf9, 0x3c, 0x00}
	if _, err := testSigner(t, "k").SignEnvelope(&e); err == nil {
		t.Fatal("signed an envelope with float data")
	}
}
