package devsync

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"sync"

	"github.com/coder/websocket"

	"github.com/melmastoon/iam/edge/replica"
	"github.com/melmastoon/iam/syncproto"
	"github.com/melmastoon/iam/syncproto/devcert"
	"github.com/melmastoon/iam/syncproto/devproto"
)

// Server is the device sync server. ServeHTTP handles GET /api/v1/sync;
// Apply follows the replica; Close ends every connection. Its methods are
// safe for concurrent use.
type Server struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics

	mu       sync.RWMutex
	closed   bool
	all      map[*session]struct{}               // every connection, also in handshake
	byDevice map[deviceKey]map[*session]struct{} // authenticated, by device
	byTenant map[string]map[*session]struct{}    // authenticated, by tenant
	wg       sync.WaitGroup                      // ServeHTTP calls past the upgrade

	bundleMu sync.Mutex
	bundles  map[string]cachedBundle
}

type deviceKey struct{ tenant, device string }

// cachedBundle is a parsed tenant CA and the bytes it came from.
type cachedBundle struct {
	raw    []byte
	bundle *devcert.TrustBundle
}

// New builds a server. It fails when the config is invalid or the metrics
// cannot be registered.
func New(cfg Config) (*Server, error) {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.Registry)
	if err != nil {
		return nil, err
	}
	return &Server{cfg: cfg, log: cfg.Logger, metrics: m, all: map[*session]struct{}{},
		byDevice: map[deviceKey]map[*session]struct{}{}, byTenant: map[string]map[*session]struct{}{},
		bundles: map[string]cachedBundle{}}, nil
}

// ServeHTTP upgrades to WebSocket and runs the connection until it ends.
// Devices authenticate with their certificate; no API token applies.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		http.Error(w, "edge shutting down", http.StatusServiceUnavailable)
		return
	}
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{devproto.Subprotocol}})
	if err != nil {
		s.metrics.handshakes.WithLabelValues("upgrade").Inc()
		s.log.InfoContext(r.Context(), "device sync upgrade refused", "remote", r.RemoteAddr, "error", err)
		return // Accept answered the HTTP error
	}
	if c.Subprotocol() != devproto.Subprotocol {
		s.metrics.handshakes.WithLabelValues(refuseProtocol.label).Inc()
		s.log.InfoContext(r.Context(), "device sync handshake refused", "reason", "subprotocol", "remote", r.RemoteAddr)
		_ = c.Close(refuseProtocol.code, "subprotocol "+devproto.Subprotocol+" required")
		return
	}
	c.SetReadLimit(devproto.MaxFrameBytes)
	sess := newSession(s, c, r.RemoteAddr)
	if !s.add(sess) {
		_ = c.Close(refuseShutdown.code, refuseShutdown.reason)
		return
	}
	defer s.wg.Done()
	sess.run(context.WithoutCancel(r.Context()))
}

// add tracks a new connection; false once the server is closed.
func (s *Server) add(sess *session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.all[sess] = struct{}{}
	s.wg.Add(1)
	return true
}

// register makes an authenticated session receive pushes.
func (s *Server) register(sess *session) {
	k := deviceKey{sess.tenant, sess.device}
	s.mu.Lock()
	defer s.mu.Unlock()
	addTo(s.byDevice, k, sess)
	addTo(s.byTenant, sess.tenant, sess)
}

func (s *Server) remove(sess *session) {
	k := deviceKey{sess.tenant, sess.device}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.all, sess)
	removeFrom(s.byDevice, k, sess)
	removeFrom(s.byTenant, sess.tenant, sess)
}

func addTo[K comparable](m map[K]map[*session]struct{}, k K, sess *session) {
	set := m[k]
	if set == nil {
		set = map[*session]struct{}{}
		m[k] = set
	}
	set[sess] = struct{}{}
}

func removeFrom[K comparable](m map[K]map[*session]struct{}, k K, sess *session) {
	if set := m[k]; set != nil {
		delete(set, sess)
		if len(set) == 0 {
			delete(m, k)
		}
	}
}

// sessionsOf returns the authenticated sessions of a device, or of the
// whole tenant when device is "".
func (s *Server) sessionsOf(tenant, device string) []*session {
	s.mu.RLock()
	defer s.mu.RUnlock()
	set := s.byTenant[tenant]
	if device != "" {
		set = s.byDevice[deviceKey{tenant, device}]
	}
	out := make([]*session, 0, len(set))
	for sess := range set {
		out = append(out, sess)
	}
	return out
}

// Connections returns the number of connections, handshakes included.
func (s *Server) Connections() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.all)
}

// Close ends every connection with StatusGoingAway, refuses new ones and
// waits until every connection's goroutines have ended.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	all := make([]*session, 0, len(s.all))
	for sess := range s.all {
		all = append(all, sess)
	}
	s.mu.Unlock()
	for _, sess := range all {
		sess.terminate(refuseShutdown)
	}
	s.wg.Wait()
}

// Apply follows one committed replica change (pass it to the replica's
// OnApplied, after the decision engine). It pushes a device.* delta to the
// device's connections and a key rotation to every connection of the
// tenant, closes connections of a revoked device, an erased account's
// devices or a deleted tenant, and
// re-checks the tenant's connections after a snapshot. It never waits for
// a device: a full send buffer drops that device.
func (s *Server) Apply(a replica.Applied) {
	if a.Snapshot {
		for _, sess := range s.sessionsOf(a.Tenant, "") {
			sess.requestRecheck()
		}
		return
	}
	if a.Type == syncproto.TypeKeyRotation && a.Raw != nil {
		s.pushToTenant(a.Tenant, a.Raw)
		return
	}
	for _, c := range a.Changes {
		switch c := c.(type) {
		case replica.Device:
			s.pushDevice(a, c)
		case replica.TenantDeleted:
			for _, sess := range s.sessionsOf(a.Tenant, "") {
				sess.terminate(dropTenantGone)
			}
		case replica.AccountErased:
			// The account's devices went with it: the re-check closes
			// their connections (4002) and leaves the others alone.
			for _, sess := range s.sessionsOf(a.Tenant, "") {
				sess.requestRecheck()
			}
		}
	}
}

func (s *Server) pushToTenant(tenant string, raw []byte) {
	sessions := s.sessionsOf(tenant, "")
	if len(sessions) == 0 {
		return
	}
	frame, ok := s.deltaFrame(raw)
	if !ok {
		return
	}
	for _, sess := range sessions {
		sess.push(pushItem{frame: frame, rotation: true})
	}
}

func (s *Server) pushDevice(a replica.Applied, d replica.Device) {
	sessions := s.sessionsOf(a.Tenant, d.ID)
	if len(sessions) == 0 {
		return
	}
	item := pushItem{version: d.Version, revoked: d.Status == replica.DeviceRevoked}
	if a.Raw != nil {
		frame, ok := s.deltaFrame(a.Raw)
		if !ok {
			return
		}
		item.frame = frame
	}
	for _, sess := range sessions {
		sess.push(item)
	}
}

// deltaFrame wraps signed bytes in a Delta frame; false (logged) when they
// do not fit in one.
func (s *Server) deltaFrame(raw []byte) ([]byte, bool) {
	b, err := devproto.Encode(&devproto.Message{Type: devproto.Delta, Delta: raw})
	if err != nil {
		s.log.Warn("device sync delta too large for a frame", "bytes", len(raw), "error", err)
		return nil, false
	}
	return b, true
}

// bundle returns the tenant's parsed trust bundle, cached per stored bytes.
func (s *Server) bundle(ctx context.Context, tenant string) (*devcert.TrustBundle, error) {
	ca, err := s.cfg.Store.TenantCA(ctx, tenant)
	if err != nil {
		return nil, err
	}
	s.bundleMu.Lock()
	defer s.bundleMu.Unlock()
	if c, ok := s.bundles[tenant]; ok && bytes.Equal(c.raw, ca.Bundle) {
		return c.bundle, nil
	}
	b, err := devcert.ParseTrustBundle(ca.Bundle)
	if err != nil {
		return nil, err
	}
	s.bundles[tenant] = cachedBundle{raw: ca.Bundle, bundle: b}
	return b, nil
}
