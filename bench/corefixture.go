package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/melmastoon/iam/core"
	"github.com/melmastoon/iam/core/keys"
)

// benchToken is the bootstrap token of the in-process core.
const benchToken = "bench-bootstrap-token-0123456789"

// CoreFixture is core running in this process on a loopback port, as
// test/coretest starts it, with the production middleware chain (metrics,
// tracing without an exporter, panic recovery, bootstrap-token auth).
type CoreFixture struct {
	core   *core.Core
	cancel context.CancelFunc
	done   chan error
	URL    string
	Client *http.Client
}

// StartCore runs core against databaseURL (already migrated).
func StartCore(ctx context.Context, databaseURL string, maxClients int) (*CoreFixture, error) {
	raw := make([]byte, keys.KEKSize)
	_, _ = rand.Read(raw)
	kek, err := keys.NewLocalKEK(raw)
	if err != nil {
		return nil, fmt.Errorf("bench: key-encryption key: %w", err)
	}
	// Production defaults everywhere else (Argon2id parameters included).
	cfg := core.Config{DatabaseURL: databaseURL, HTTPAddr: "127.0.0.1:0", BootstrapToken: benchToken,
		KEK: kek, Logger: slog.New(slog.DiscardHandler)}
	c, err := core.New(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("bench: start core: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	f := &CoreFixture{core: c, cancel: cancel, done: make(chan error, 1), URL: "http://" + c.Addr()}
	go func() { f.done <- c.Run(runCtx) }()
	// Keep-alive connections, enough idle ones for every concurrent client,
	// so the figures measure requests, not TCP handshakes.
	tr := &http.Transport{MaxIdleConns: maxClients * 2, MaxIdleConnsPerHost: maxClients * 2, IdleConnTimeout: time.Minute}
	f.Client = &http.Client{Transport: tr, Timeout: 2 * time.Minute}
	return f, nil
}

// Close stops core and waits for it.
func (f *CoreFixture) Close() error {
	f.cancel()
	err := <-f.done
	f.Client.CloseIdleConnections()
	if cerr := f.core.Close(); err == nil {
		err = cerr
	}
	return err
}

// Call performs one authenticated request and decodes a JSON answer into out
// (when non-nil). Any status other than want is an error.
func (f *CoreFixture) Call(ctx context.Context, method, path string, body any, want int, out any) error {
	_, err := f.CallBytes(ctx, method, path, body, want, out)
	return err
}

// CallBytes is Call that also reports the size of the response body.
func (f *CoreFixture) CallBytes(ctx context.Context, method, path string, body any, want int, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, f.URL+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+benchToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := f.Client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return len(raw), err
	}
	if resp.StatusCode != want {
		return len(raw), fmt.Errorf("%s %s: status %d: %.200s", method, path, resp.StatusCode, raw)
	}
	if out == nil {
		return len(raw), nil
	}
	return len(raw), json.Unmarshal(raw, out)
}
