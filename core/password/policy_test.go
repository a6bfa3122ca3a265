package password

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckPolicy(t *testing.T) {
	tests := []struct {
		name string
		pw   string
		want error
	}{
		{"ok", "violet tractor humming", nil},
		{"ok exactly 12", "v1olet-trac!", nil},
		{"11 runes", "abcdefghij!", ErrTooShort},
		{"empty", "", ErrTooShort},
		// 12 bytes but only 4 runes must be too short.
		{"multibyte short", "日本語日", ErrTooShort},
		{"multibyte ok", "日本語の長いパスワードです", nil},
		{"too long", strings.Repeat("x", MaxPasswordBytes+1), ErrTooLong},
		{"max length", "long pass " + strings.Repeat("y", MaxPasswordBytes-10), nil},
		{"invalid utf8", "abcdefghijkl\xff", ErrInvalidEncoding},
		{"common digits", "123456789012", ErrCommon},
		{"common password1234", "password1234", ErrCommon},
		{"common keyboard", "qwertyuiopas", ErrCommon},
		{"common case-insensitive", "PassWord1234", ErrCommon},
		{"common upper keyboard", "QWERTYUIOPAS", ErrCommon},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := CheckPolicy(tt.pw); !errors.Is(err, tt.want) {
				t.Fatalf("CheckPolicy(%q) = %v, want %v", tt.pw, err, tt.want)
			}
		})
	}
}

func TestCommonListShape(t *testing.T) {
	commonOnce.Do(loadCommon)
	if n := len(commonSet); n < 2000 {
		t.Fatalf("common list has %d entries, want at least 2000", n)
	}
	for pw := range commonSet {
		if pw != strings.ToLower(pw) {
			t.Fatalf("entry %q not lower-cased", pw)
		}
	}
}
