package obs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

func TestIsSensitiveKey(t *testing.T) {
	tests := []struct {
		key  string
		want bool
	}{
		{"password", true},
		{"Password", true},
		{"new_password", true},
		{"PASSWD", true},
		{"access_token", true},
		{"refresh_token", true},
		{"id_token", true},
		{"Authorization", true},
		{"proxy-authorization", true},
		{"cookie", true},
		{"Set-Cookie", true},
		{"client_secret", true},
		{"totp_secret", true},
		{"idempotency_key", true},
		{"api_key", true},
		{"X-Api-Key", true},
		{"private_key", true},
		{"otp", true},
		{"totp_code", true},
		{"recovery_code", true},
		{"mfa_code", true},
		{"code_verifier", true},
		{"credentials", true},
		{"credential_id", false},
		{"code", false},
		{"status_code", false},
		{"problem_code", false},
		{"kid", false},
		{"key_id", false},
		{"public_key", false},
		{"token_type", false},
		{"tenant", false},
		{"account_id", false},
		{"trace_id", false},
		{"route", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if got := isSensitiveKey(tt.key); got != tt.want {
				t.Errorf("isSensitiveKey(%q) = %v, want %v", tt.key, got, tt.want)
			}
		})
	}
}

func TestLooksLikeCredential(t *testing.T) {
	tests := []struct {
		value string
		want  bool
	}{
		{"Bearer eyJhbGciOi", true},
		{"bearer abc", true},
		{"  Basic dXNlcjpwYXNz", true},
		{"BASIC dXNlcjpwYXNz", true},
		{`header "Authorization: Bearer abc" rejected`, true},
		{"basic auth is disabled for this tenant", false},
		{"Bearer", false},
		{"acme", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			if got := looksLikeCredential(tt.value); got != tt.want {
				t.Errorf("looksLikeCredential(%q) = %v, want %v", tt.value, got, tt.want)
			}
		})
	}
}

// credentials is a slog.LogValuer whose value hides a secret in a group.
type credentials struct {
	user, password string
}

func (c credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("user", c.user), slog.String("password", c.password))
}

// bearerValuer resolves to a bare bearer credential.
type bearerValuer string

func (b bearerValuer) LogValue() slog.Value { return slog.StringValue("Bearer " + string(b)) }

// loginRequest is a struct logged with slog.Any: the JSON handler expands it.
type loginRequest struct {
	Username string            `json:"username"`
	Password string            `json:"password"`
	Factors  []factor          `json:"factors"`
	Extra    map[string]string `json:"extra"`
}

type factor struct {
	Kind     string `json:"kind"`
	TOTPCode string `json:"totp_code"`
}

// headerValue is a named string type: slog logs it as KindAny.
type headerValue string

// secret returns a distinct secret for case i; each one is searched for in
// the output.
func secret(i int) string { return fmt.Sprintf("S3CR3T-%03d-xyzzy", i) }

// TestRedactionNeverLeaksSecrets is the proof of invariant 4: a secret logged
// under any key shape never reaches the output, and ordinary attributes do.
func TestRedactionNeverLeaksSecrets(t *testing.T) {
	var buf bytes.Buffer
	log := NewLogger(&buf, slog.LevelDebug)
	n := 0
	next := func() string { n++; return secret(n) }

	// Top level, every key shape.
	log.Info("top level",
		"password", next(), "Password", next(), "new_password", next(), "passwd", next(),
		"access_token", next(), "refresh_token", next(), "Authorization", next(),
		"cookie", next(), "client_secret", next(), "idempotency_key", next(),
		"api_key", next(), "otp", next(), "totp_code", next(), "recovery_code", next(),
		"mfa_code", next(), "note", "Bearer "+next(), "basic_header", "Basic "+next(),
		"user", "alice", "code", "MELMASTOON.IAM.AUTH.UNAUTHENTICATED", "key_id", "kid-2026-01",
	)
	// Groups, nested groups, a group with a sensitive name.
	log.Info("groups",
		slog.Group("login", "user", "bob", "password", next(),
			slog.Group("mfa", "totp_code", next(), "method", "totp")),
		slog.Group("secret", "value", next()),
		slog.Group("", "token", next()),
	)
	// With and WithGroup, including a sensitive group name.
	log.With("api_key", next()).WithGroup("req").With("token", next(), "route", "/api/v1/login").
		Info("with", "cookie", next(), "status_code", 401)
	log.WithGroup("credentials").Info("sensitive group", "plain", next())
	log.WithGroup("a").WithGroup("b").Info("deep", slog.Group("c", slog.Group("d", "password", next(), "depth", 4)))
	// LogValuers.
	log.Info("valuer", "creds", credentials{user: "carol", password: next()}, "hdr", bearerValuer(next()))
	// Headers and maps.
	hdr := http.Header{
		"Authorization": {"Bearer " + next()}, "Cookie": {"sid=" + next()},
		"Set-Cookie": {"sid=" + next() + "; HttpOnly"}, "X-Api-Key": {next()},
		"X-Request-Id": {"req-visible-42"},
	}
	log.Info("header", "header", hdr, "raw_header", map[string][]string{"Authorization": {"Basic " + next()}})
	log.Info("map", "form", map[string]any{"grant_type": "refresh_token", "refresh_token": next(), "nested": map[string]any{"client_secret": next()}})
	// Structs, slices, errors.
	log.Info("struct", "body", loginRequest{
		Username: "dave", Password: next(),
		Factors: []factor{{Kind: "totp", TOTPCode: next()}},
		Extra:   map[string]string{"session_cookie": next(), "locale": "de-DE"},
	}, "ptr", &factor{Kind: "recovery", TOTPCode: next()})
	log.Error("failure", "err", errors.New("upstream rejected Authorization: Bearer "+next()),
		"err2", fmt.Errorf("wrapped: %w", errors.New("bad request")))
	log.Debug("Bearer " + next())

	out := buf.String()
	for i := 1; i <= n; i++ {
		if strings.Contains(out, secret(i)) {
			t.Errorf("secret %d reached the output:\n%s", i, out)
		}
	}
	visible := []string{
		`"user":"alice"`, `"code":"MELMASTOON.IAM.AUTH.UNAUTHENTICATED"`, `"key_id":"kid-2026-01"`,
		`"user":"bob"`, `"method":"totp"`, `"route":"/api/v1/login"`, `"status_code":401`,
		`"depth":4`, `"user":"carol"`, `req-visible-42`, `"grant_type":"refresh_token"`,
		`"username":"dave"`, `"locale":"de-DE"`, `"kind":"recovery"`, `wrapped: bad request`,
		`"password":"[REDACTED]"`,
	}
	for _, s := range visible {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %s:\n%s", s, out)
		}
	}
	assertJSONLines(t, out, 11)
}

// assertJSONLines fails unless out holds want lines of valid JSON.
func assertJSONLines(t *testing.T, out string, want int) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != want {
		t.Fatalf("got %d log lines, want %d", len(lines), want)
	}
	for _, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Errorf("invalid JSON line: %s", l)
		}
	}
}

func TestRedactingHandlerShapes(t *testing.T) {
	tests := []struct {
		name string
		log  func(*slog.Logger)
		want string // a JSON fragment expected in the line
	}{
		{"sensitive key", func(l *slog.Logger) { l.Info("m", "password", "x") }, `"password":"[REDACTED]"`},
		{"group under sensitive key", func(l *slog.Logger) { l.Info("m", slog.Group("token", "a", "b")) }, `"token":"[REDACTED]"`},
		{"sensitive group name", func(l *slog.Logger) { l.WithGroup("secret").Info("m", "a", "b") }, `"secret":{"a":"[REDACTED]"}`},
		{"plain kept", func(l *slog.Logger) { l.Info("m", "tenant", "acme") }, `"tenant":"acme"`},
		{"code kept", func(l *slog.Logger) { l.Info("m", "code", 404) }, `"code":404`},
		{"bearer value", func(l *slog.Logger) { l.Info("m", "x", "Bearer abc") }, `"x":"[REDACTED]"`},
		{"header", func(l *slog.Logger) {
			l.Info("m", "h", http.Header{"Authorization": {"Basic abc"}})
		}, `"h":{"Authorization":["[REDACTED]"]}`},
		{"named string type", func(l *slog.Logger) { l.Info("m", "x", headerValue("Bearer abc")) }, `"x":"[REDACTED]"`},
		{"nil pointer", func(l *slog.Logger) { l.Info("m", "f", (*factor)(nil)) }, `"f":null`},
		{"unloggable", func(l *slog.Logger) { l.Info("m", "c", []any{make(chan int)}) }, `"c":"[UNLOGGABLE]"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			tt.log(slog.New(NewRedactingHandler(slog.NewJSONHandler(&buf, nil))))
			if !strings.Contains(buf.String(), tt.want) {
				t.Errorf("output %s lacks %s", buf.String(), tt.want)
			}
		})
	}
}
