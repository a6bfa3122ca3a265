package device

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestLoggerRedacts(t *testing.T) {
	var buf bytes.Buffer
	opts := Options{Logger: slog.New(slog.NewJSONHandler(&buf, nil))}
	opts.CheckAndSetDefaults()
	log := opts.Logger.With("access_token", "secret-1")
	log.Info("x", "private_key", "secret-2", slog.Group("req", "signature", "secret-3", "nonce", "secret-4"), "device_id", "d1")
	out := buf.String()
	for _, s := range []string{"secret-1", "secret-2", "secret-3", "secret-4"} {
		if strings.Contains(out, s) {
			t.Errorf("%s logged: %s", s, out)
		}
	}
	if !strings.Contains(out, `"device_id":"d1"`) {
		t.Errorf("device_id missing: %s", out)
	}
}
