package devsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/melmastoon/iam/edge/replica"
	"github.com/melmastoon/iam/syncproto"
	"github.com/melmastoon/iam/syncproto/devproto"
)

// catchUp brings the device from cursor to the replica's state while
// pushes wait in pending: (first) Ready and the tenant's key rotations,
// then its stored deltas newer than cursor, or core's signed Device
// snapshot when the replica lacks the newest. Then it goes live.
func (s *session) catchUp(ctx context.Context, cursor uint64, first bool) {
	defer s.goLive()
	from := int64(min(cursor, 1<<62))
	s.mu.Lock()
	s.sent = max(s.sent, from)
	s.mu.Unlock()
	if first && !s.sendReady(ctx) {
		return
	}
	dev, err := s.srv.cfg.Store.Device(ctx, s.tenant, s.device)
	switch {
	case errors.Is(err, replica.ErrNotFound):
		s.terminate(dropDeviceGone)
		return
	case err != nil:
		s.log.ErrorContext(ctx, "device sync catch-up read failed", "tenant", s.tenant, "device", s.device, "error", err)
		s.terminate(refuseInternal)
		return
	}
	if dev.Version > from && !s.sendDeltas(ctx, from, dev.Version) {
		return
	}
	if dev.Status != replica.DeviceActive {
		s.mu.Lock()
		s.closeRevokedLocked()
		s.mu.Unlock()
	}
}

// sendReady queues Ready and every key rotation of the tenant.
func (s *session) sendReady(ctx context.Context) bool {
	ready, err := devproto.Encode(&devproto.Message{Type: devproto.Ready, Time: s.srv.cfg.Now().UnixMilli()})
	if err != nil || !s.enqueue(outFrame{data: ready}) {
		return false
	}
	rots, err := s.srv.cfg.Store.KeyRotations(ctx, s.tenant)
	if err != nil {
		s.log.ErrorContext(ctx, "device sync key rotations read failed", "tenant", s.tenant, "error", err)
		return true // the device may still verify with the keys it has
	}
	for _, raw := range rots {
		if frame, ok := s.srv.deltaFrame(raw); ok && !s.enqueue(outFrame{data: frame}) {
			return false
		}
	}
	return true
}

// sendDeltas queues the stored deltas after from; when they do not reach
// want (the replica's version) it adds core's Device snapshot.
func (s *session) sendDeltas(ctx context.Context, from, want int64) bool {
	deltas, err := s.srv.cfg.Store.DeviceDeltas(ctx, s.tenant, s.device, from)
	if err != nil {
		s.log.ErrorContext(ctx, "device sync deltas read failed", "tenant", s.tenant, "device", s.device, "error", err)
		deltas = nil
	}
	for _, d := range deltas {
		frame, ok := s.srv.deltaFrame(d.Raw)
		if !ok {
			continue
		}
		if !s.enqueue(outFrame{data: frame}) {
			return false
		}
		s.setSent(d.Version)
	}
	if len(deltas) > 0 && deltas[len(deltas)-1].Version >= want {
		return true
	}
	snap, err := s.fetchSnapshot(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "device sync snapshot unavailable, device keeps its state", "tenant", s.tenant,
			"device", s.device, "error", err)
		return true
	}
	if frame, ok := s.srv.deltaFrame(snap); ok {
		if !s.enqueue(outFrame{data: frame}) {
			return false
		}
		s.setSent(want)
	}
	return true
}

func (s *session) setSent(v int64) {
	s.mu.Lock()
	s.sent = max(s.sent, v)
	s.mu.Unlock()
}

// fetchSnapshot asks core for the device's signed snapshot and checks it
// is exactly that: a Device snapshot of this device, signed by a delta key
// of the tenant, so nothing else ever reaches the device.
func (s *session) fetchSnapshot(ctx context.Context) ([]byte, error) {
	m := s.srv.metrics.requests
	if s.srv.cfg.Core == nil {
		m.WithLabelValues("snapshot", "unavailable").Inc()
		return nil, ErrCoreUnavailable
	}
	body, err := json.Marshal(devproto.SnapshotRequest{Tenant: s.tenant, Device: s.device})
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithTimeout(ctx, s.srv.cfg.SnapshotTimeout)
	defer cancel()
	data, err := s.srv.cfg.Core.Request(rctx, devproto.SnapshotSubject, body)
	if err != nil {
		m.WithLabelValues("snapshot", "unavailable").Inc()
		return nil, err
	}
	var reply devproto.SnapshotReply
	if err := json.Unmarshal(data, &reply); err != nil {
		m.WithLabelValues("snapshot", "error").Inc()
		return nil, fmt.Errorf("devsync: snapshot reply: %w", err)
	}
	if reply.Error != "" {
		m.WithLabelValues("snapshot", "error").Inc()
		return nil, fmt.Errorf("devsync: core refused the snapshot: %q", reply.Error)
	}
	if err := s.checkSnapshot(reply.Delta); err != nil {
		m.WithLabelValues("snapshot", "invalid").Inc()
		return nil, err
	}
	m.WithLabelValues("snapshot", "ok").Inc()
	return reply.Delta, nil
}

func (s *session) checkSnapshot(msg []byte) error {
	env, err := syncproto.VerifyStandalone(msg, s.srv.cfg.Store.Keyring(s.tenant), s.tenant)
	if err != nil {
		return fmt.Errorf("devsync: snapshot does not verify: %w", err)
	}
	if env.Type != devproto.DeviceSnapshotType {
		return fmt.Errorf("devsync: snapshot has type %q", env.Type)
	}
	var data map[string]any
	if err := syncproto.DecodeData(env.Data, &data); err != nil {
		return fmt.Errorf("devsync: snapshot data: %w", err)
	}
	if id, _ := data["id"].(string); id != s.device {
		return errors.New("devsync: snapshot of another device")
	}
	return nil
}

// recheckDevice catches up after a snapshot replaced the tenant's state.
func (s *session) recheckDevice(ctx context.Context) {
	s.mu.Lock()
	s.live = false
	from := s.sent
	s.mu.Unlock()
	s.catchUp(ctx, uint64(max(from, 0)), false)
}
