package devsync

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// session is one device connection.
type session struct {
	srv    *Server
	c      *websocket.Conn
	log    *slog.Logger
	remote string

	tenant, device string // set by the handshake, before register

	in      chan readResult // frames from the reader goroutine
	out     chan outFrame   // the bounded send buffer
	done    chan struct{}   // closed by terminate
	recheck chan struct{}   // a snapshot replaced the tenant's state

	endOnce sync.Once
	end     closing // why, set before done closes

	mu       sync.Mutex // guards the fields below
	live     bool       // pushes go to out; false: to pending
	pending  []pushItem
	sent     int64     // newest device version queued
	notAfter time.Time // the certificate's, moved on by a renewal
	leafKey  []byte    // the certificate's Ed25519 key, the same across renewals (set by the handshake)

	inflight atomic.Int32
	tasks    sync.WaitGroup // reader, writer, pinger, requests
}

type readResult struct {
	typ  websocket.MessageType
	data []byte
	err  error
}

// outFrame is a frame to write, or (closeWith set) the instruction to
// close once everything queued before it is written.
type outFrame struct {
	data      []byte
	closeWith *closing
}

// pushItem is a delta pushed by Apply.
type pushItem struct {
	frame    []byte // nil: no raw delta (re-check the device instead)
	version  int64
	revoked  bool
	rotation bool // a key rotation: not version-gated
}

func newSession(s *Server, c *websocket.Conn, remote string) *session {
	return &session{srv: s, c: c, log: s.log, remote: remote, in: make(chan readResult),
		out: make(chan outFrame, s.cfg.SendBuffer), done: make(chan struct{}), recheck: make(chan struct{}, 1)}
}

// run serves the connection until it ends; it returns after every
// goroutine of the session has ended.
func (s *session) run(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.tasks.Add(1)
	go s.read(ctx)
	cursor, ok := s.handshake(ctx)
	if !ok {
		s.finish(cancel, false)
		return
	}
	s.srv.register(s)
	s.srv.metrics.connections.Inc()
	s.tasks.Add(2)
	go s.write(ctx)
	go s.heartbeat(ctx)
	s.catchUp(ctx, cursor, true)
	s.serve(ctx)
	s.finish(cancel, true)
}

// read pumps frames to s.in until the connection fails or closes. ctx
// ends only after the close handshake (finish): coder/websocket closes the
// socket when a read's context ends, which would lose the close code.
func (s *session) read(ctx context.Context) {
	defer s.tasks.Done()
	for {
		typ, data, err := s.c.Read(ctx)
		select {
		case s.in <- readResult{typ, data, err}:
		case <-s.done:
			return
		}
		if err != nil {
			return
		}
	}
}

// serve handles the device's requests until the session ends.
func (s *session) serve(ctx context.Context) {
	for {
		select {
		case <-s.done:
			return
		case <-s.recheck:
			s.recheckDevice(ctx)
		case r := <-s.in:
			if r.err != nil {
				s.terminate(dropPeerClosed)
				return
			}
			s.handleFrame(ctx, r)
		}
	}
}

// terminate ends the session once; the first reason wins.
func (s *session) terminate(why closing) {
	s.endOnce.Do(func() {
		s.end = why
		close(s.done)
	})
}

// finish closes the socket (with the close code first, then the session's
// context) and waits for the session's goroutines.
func (s *session) finish(cancel context.CancelFunc, authenticated bool) {
	<-s.done
	s.srv.remove(s)
	why := s.end
	if why.code != 0 {
		_ = s.c.Close(why.code, why.reason)
	} else {
		_ = s.c.CloseNow()
	}
	cancel()
	s.tasks.Wait()
	if !authenticated {
		return
	}
	s.srv.metrics.connections.Dec()
	s.srv.metrics.disconnects.WithLabelValues(why.label).Inc()
	level := slog.LevelInfo
	if why.label != dropPeerClosed.label && why.label != refuseShutdown.label {
		level = slog.LevelWarn
	}
	s.log.Log(context.Background(), level, "device sync connection closed", "tenant", s.tenant, "device", s.device,
		"remote", s.remote, "reason", why.label, "code", int(why.code))
}

// write drains the send buffer onto the socket.
func (s *session) write(ctx context.Context) {
	defer s.tasks.Done()
	for {
		select {
		case <-s.done:
			return
		case f := <-s.out:
			if f.closeWith != nil {
				s.terminate(*f.closeWith)
				return
			}
			wctx, cancel := context.WithTimeout(ctx, s.srv.cfg.WriteTimeout)
			err := s.c.Write(wctx, websocket.MessageBinary, f.data)
			cancel()
			if err != nil {
				s.terminate(dropWriteFailed)
				return
			}
			s.srv.metrics.framesSent.Inc()
		}
	}
}

// heartbeat pings the device and ends the session when it does not answer
// or its certificate expires.
func (s *session) heartbeat(ctx context.Context) {
	defer s.tasks.Done()
	t := time.NewTicker(s.srv.cfg.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		if s.certExpired() {
			s.terminate(dropCertExpired)
			return
		}
		pctx, cancel := context.WithTimeout(ctx, s.srv.cfg.PingTimeout)
		err := s.c.Ping(pctx)
		cancel()
		if err != nil {
			s.terminate(dropHeartbeat)
			return
		}
	}
}

func (s *session) certExpired() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.srv.cfg.Now().After(s.notAfter.Add(s.srv.cfg.ClockSkew))
}

// enqueue puts a frame in the send buffer without waiting; a full buffer
// ends the session as a slow consumer.
func (s *session) enqueue(f outFrame) bool {
	select {
	case <-s.done:
		return false
	default:
	}
	select {
	case s.out <- f:
		return true
	default:
		s.terminate(refuseSlow)
		return false
	}
}

func (s *session) requestRecheck() {
	select {
	case s.recheck <- struct{}{}:
	default:
	}
}

// push delivers a delta from Apply: queued while the session catches up,
// else sent when newer than what the device has.
func (s *session) push(it pushItem) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.live {
		if len(s.pending) >= s.srv.cfg.SendBuffer {
			s.terminate(refuseSlow)
			return
		}
		s.pending = append(s.pending, it)
		return
	}
	s.deliverLocked(it)
}

// deliverLocked sends one pushed item; s.mu is held.
func (s *session) deliverLocked(it pushItem) {
	switch {
	case it.rotation:
		s.enqueue(outFrame{data: it.frame})
		return
	case it.frame == nil:
		s.requestRecheck()
		return
	case it.version <= s.sent && !it.revoked:
		return
	}
	if it.version > s.sent {
		s.sent = it.version
		if !s.enqueue(outFrame{data: it.frame}) {
			return
		}
	}
	if it.revoked {
		s.closeRevokedLocked()
	}
}

// closeRevokedLocked closes after what is queued, and at the latest after
// RevokeCloseDelay.
func (s *session) closeRevokedLocked() {
	if s.enqueue(outFrame{closeWith: &dropRevokedAfter}) {
		time.AfterFunc(RevokeCloseDelay, func() { s.terminate(dropRevokedAfter) })
	} else {
		s.terminate(dropRevokedAfter)
	}
}

// goLive delivers what was pushed during a catch-up and switches to live.
func (s *session) goLive() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, it := range s.pending {
		s.deliverLocked(it)
	}
	s.pending = nil
	s.live = true
}
