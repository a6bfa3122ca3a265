package edge

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

func testConn(t *testing.T) *nats.Conn {
	t.Helper()
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(5 * time.Second) {
		t.Fatal("server not ready")
	}
	t.Cleanup(srv.Shutdown)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// respond answers iam.snapshot.get with the given chunk messages.
func respond(t *testing.T, nc *nats.Conn, reply func(m *nats.Msg) []*nats.Msg) {
	t.Helper()
	sub, err := nc.Subscribe(snapshotGetSubject, func(m *nats.Msg) {
		for _, out := range reply(m) {
			out.Subject = m.Reply
			_ = nc.PublishMsg(out)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
}

func chunkMsg(i, n int, seq uint64, data string, anchor []byte) *nats.Msg {
	m := &nats.Msg{Data: []byte(data), Header: nats.Header{}}
	m.Header.Set(hdrChunk, strconv.Itoa(i))
	m.Header.Set(hdrChunks, strconv.Itoa(n))
	m.Header.Set(hdrStreamSeq, strconv.FormatUint(seq, 10))
	if anchor != nil {
		m.Header.Set(hdrAnchor, base64.RawURLEncoding.EncodeToString(anchor))
	}
	return m
}

func TestRequestSnapshotCollectsChunksInOrder(t *testing.T) {
	nc := testConn(t)
	respond(t, nc, func(m *nats.Msg) []*nats.Msg {
		var req map[string]string
		_ = json.Unmarshal(m.Data, &req)
		if req["tenant"] != "t1" {
			e := &nats.Msg{Header: nats.Header{}}
			e.Header.Set(hdrError, "no chain")
			return []*nats.Msg{e}
		}
		return []*nats.Msg{chunkMsg(0, 3, 42, "a", []byte("cert")), chunkMsg(1, 3, 42, "b", nil), chunkMsg(2, 3, 42, "c", nil)}
	})
	s, err := requestSnapshot(context.Background(), nc, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if s.streamSeq != 42 || string(s.anchor) != "cert" || len(s.chunks) != 3 || string(s.chunks[2]) != "c" {
		t.Fatalf("got %+v", s)
	}
	if _, err := requestSnapshot(context.Background(), nc, "t2"); err == nil || !strings.Contains(err.Error(), "no chain") {
		t.Fatalf("err = %v, want the Iam-Error reason", err)
	}
}

func TestRequestSnapshotRefusesDisorder(t *testing.T) {
	nc := testConn(t)
	respond(t, nc, func(*nats.Msg) []*nats.Msg {
		return []*nats.Msg{chunkMsg(0, 3, 7, "a", []byte("cert")), chunkMsg(2, 3, 7, "c", nil)}
	})
	if _, err := requestSnapshot(context.Background(), nc, "t1"); err == nil || !strings.Contains(err.Error(), "out of order") {
		t.Fatalf("err = %v, want out of order", err)
	}
}

func TestRequestWithoutResponder(t *testing.T) {
	nc := testConn(t)
	if _, err := requestTenants(context.Background(), nc); !errors.Is(err, errNoSnapshots) {
		t.Fatalf("err = %v, want errNoSnapshots", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := requestSnapshot(ctx, nc, "t1"); !errors.Is(err, errNoSnapshots) {
		t.Fatalf("err = %v, want errNoSnapshots", err)
	}
}
