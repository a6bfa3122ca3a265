package client

import (
	"strings"
	"testing"
)

func TestBearerToken(t *testing.T) {
	long := strings.Repeat("a", MaxTokenBytes)
	tests := []struct {
		values    []string
		wantToken string
		wantState bearerState
	}{
		{values: nil, wantState: bearerAbsent},
		{values: []string{""}, wantState: bearerAbsent},
		{values: []string{"Bearer abc.def-ghi_~+/=="}, wantToken: "abc.def-ghi_~+/==", wantState: bearerPresent},
		{values: []string{"bearer abc"}, wantToken: "abc", wantState: bearerPresent},
		{values: []string{"BeArEr   abc"}, wantToken: "abc", wantState: bearerPresent},
		{values: []string{"Bearer " + long}, wantToken: long, wantState: bearerPresent},
		{values: []string{"Bearer " + long + "a"}, wantState: bearerMalformed},
		{values: []string{"Bearer"}, wantState: bearerMalformed},
		{values: []string{"Bearer "}, wantState: bearerMalformed},
		{values: []string{"Bearer ==="}, wantState: bearerMalformed},
		{values: []string{"Bearer a=b"}, wantState: bearerMalformed},
		{values: []string{"Bearer a b"}, wantState: bearerMalformed},
		{values: []string{"Bearer a\tb"}, wantState: bearerMalformed},
		{values: []string{"Bearer a,b"}, wantState: bearerMalformed},
		{values: []string{"Bearer tok", "Bearer tok"}, wantState: bearerMalformed},
		{values: []string{"Basic YTpi"}, wantState: bearerOtherScheme},
		{values: []string{"Bearerabc"}, wantState: bearerOtherScheme},
		{values: []string{"Bearer\tabc"}, wantState: bearerOtherScheme},
	}
	for _, tt := range tests {
		token, state := bearerToken(tt.values)
		if token != tt.wantToken || state != tt.wantState {
			t.Errorf("bearerToken(%q) = %q, %d; want %q, %d", tt.values, token, state, tt.wantToken, tt.wantState)
		}
	}
}

func FuzzBearer(f *testing.F) {
	for _, s := range []string{"", "Bearer abc", "bearer a.b.c", "Basic YTpi", "Bearer ", "Bearer a==", "Bearer ==", "BEARER  x/y+z~",
		"Bearer \x00", "Bearer é", "Bearer" + strings.Repeat(" ", 10) + "t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		token, state := parseBearer(h)
		if state != bearerPresent {
			if token != "" {
				t.Fatalf("parseBearer(%q) = %q with state %d", h, token, state)
			}
			return
		}
		if token == "" || len(token) > MaxTokenBytes || !isToken68(token) {
			t.Fatalf("parseBearer(%q) accepted token %q", h, token)
		}
		if !strings.EqualFold(strings.TrimLeft(h, " \t")[:6], "bearer") || !strings.HasSuffix(strings.TrimRight(h, " \t"), token) {
			t.Fatalf("parseBearer(%q) = %q, not the header's bearer token", h, token)
		}
	})
}
