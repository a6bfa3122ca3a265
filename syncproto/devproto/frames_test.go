package devproto

import (
	"bytes"
	"errors"
	"testing"
)

func TestFramesRoundTrip(t *testing.T) {
	msgs := []Message{
		{Type: Hello, Nonce: bytes.Repeat([]byte{1}, NonceBytes), Time: 1795352910000},
		{Type: Auth, Tenant: "t", Device: "d", Chain: [][]byte{{1, 2}, {3}}, Sig: []byte{9}, Cursor: 7},
		{Type: Ready, Time: 5},
		{Type: Delta, Delta: []byte{0xd2, 0x84}},
		{Type: RenewRequest, ID: 1, Nonce: []byte{1}, Sig: []byte{2}},
		{Type: RenewResponse, ID: 1, Error: ErrCodeUnavailable},
		{Type: TokenRequest, ID: 2, Nonce: []byte{1}, Sig: []byte{2}},
		{Type: TokenResponse, ID: 2, SealedToken: []byte("sealed"), ExpiresIn: 600},
		{Type: RenewResponse, ID: 3, Error: ErrCodeTooEarly},
	}
	for _, m := range msgs {
		b, err := Encode(&m)
		if err != nil {
			t.Fatalf("%s: %v", m.Type, err)
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("%s: %v", m.Type, err)
		}
		again, _ := Encode(got)
		if !bytes.Equal(again, b) {
			t.Fatalf("%s: round trip differs", m.Type)
		}
	}
}

func TestDecodeRefuses(t *testing.T) {
	ok, _ := Encode(&Message{Type: Ready, Time: 5})
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"garbage", []byte("garbage")},
		{"trailing bytes", append(append([]byte(nil), ok...), 0)},
		{"unknown type", mustEncode(t, map[int]any{1: 99})},
		{"type zero", mustEncode(t, map[int]any{1: 0})},
		{"unknown key", mustEncode(t, map[int]any{1: 3, 99: 1})},
		{"retired plain token key", mustEncode(t, map[int]any{1: 8, 10: 2, 12: "a.b.c"})},
		{"duplicate key", []byte{0xa2, 0x01, 0x03, 0x01, 0x03}},
		{"indefinite map", []byte{0xbf, 0x01, 0x03, 0xff}},
		{"non-canonical integer", []byte{0xa1, 0x01, 0x18, 0x03}},
		{"too many certificates", mustEncode(t, map[int]any{1: 2, 6: [][]byte{{1}, {2}, {3}, {4}, {5}}})},
		{"tagged", []byte{0xc1, 0xa1, 0x01, 0x03}},
		{"oversized", make([]byte, MaxFrameBytes+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Decode(tt.b); !errors.Is(err, ErrMalformed) {
				t.Fatalf("Decode = %v, want ErrMalformed", err)
			}
		})
	}
}

func mustEncode(t *testing.T, v any) []byte {
	t.Helper()
	b, err := encMode.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzDecode: no input panics; what decodes re-encodes to the same bytes.
func FuzzDecode(f *testing.F) {
	for _, m := range []Message{{Type: Hello, Nonce: []byte{1}, Time: 1}, {Type: Auth, Tenant: "t", Chain: [][]byte{{1}}}, {Type: Delta, Delta: []byte{1}}} {
		b, _ := Encode(&m)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		again, err := Encode(m)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("decoded frame does not re-encode identically: %v", err)
		}
	})
}
