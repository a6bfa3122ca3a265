package relay_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/melmastoon/iam/core/relay"
	"github.com/melmastoon/iam/syncproto"
)

func TestDataToCBOR(t *testing.T) {
	deep := strings.Repeat("[", syncproto.MaxNestedLevels) + strings.Repeat("]", syncproto.MaxNestedLevels)
	okDeep := strings.Repeat("[", syncproto.MaxNestedLevels-1) + strings.Repeat("]", syncproto.MaxNestedLevels-1)
	for _, tc := range []struct {
		name, json string
		want       any
		err        error
	}{
		{"object", `{"id":"a","n":1,"neg":-2,"ok":true,"none":null,"list":["x",3]}`,
			map[string]any{"id": "a", "n": uint64(1), "neg": int64(-2), "ok": true, "none": nil, "list": []any{"x", uint64(3)}}, nil},
		{"nested", `{"a":{"b":{"c":"d"}}}`, map[string]any{"a": map[string]any{"b": map[string]any{"c": "d"}}}, nil},
		{"max int64", `9223372036854775807`, uint64(math.MaxInt64), nil},
		{"above int64", `18446744073709551615`, uint64(math.MaxUint64), nil},
		{"min int64", `-9223372036854775808`, int64(math.MinInt64), nil},
		{"fraction", `{"x":1.5}`, nil, relay.ErrNonIntegerNumber},
		{"integral fraction", `1.0`, nil, relay.ErrNonIntegerNumber},
		{"exponent", `1e3`, nil, relay.ErrNonIntegerNumber},
		{"above uint64", `18446744073709551616`, nil, relay.ErrNonIntegerNumber},
		{"trailing", `{} {}`, nil, relay.ErrBadOutboxData},
		{"empty", ``, nil, relay.ErrBadOutboxData},
		{"too deep", deep, nil, relay.ErrBadOutboxData},
		{"deep enough", okDeep, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := relay.DataToCBOR([]byte(tc.json))
			if tc.err != nil || err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if tc.want == nil {
				return
			}
			var got any
			if err := syncproto.DecodeData(raw, &got); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !equalData(got, tc.want) {
				t.Fatalf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

// equalData compares decoded CBOR (maps decode as map[any]any) with want.
func equalData(got, want any) bool {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[any]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for k, v := range w {
			if !equalData(g[k], v) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !equalData(g[i], w[i]) {
				return false
			}
		}
		return true
	}
	return got == want
}
