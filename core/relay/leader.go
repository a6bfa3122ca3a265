package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/iam/core/store"
)

// Leadership and wake-up.
const (
	// LeaderLockKey is the session advisory lock the leader holds ("iamrelay").
	LeaderLockKey int64 = 0x69616d72656c6179
	// NotifyChannel is the LISTEN channel the outbox trigger notifies.
	NotifyChannel = "iam_outbox"
	// blockedPollMin is the first re-poll delay when rows are pending but
	// held back by an older running transaction (no NOTIFY comes for that).
	blockedPollMin = time.Millisecond
	// connCloseTimeout bounds closing the leader connection.
	connCloseTimeout = 5 * time.Second
)

// leader is one leadership term: the dedicated connection, the chains and
// the stream's expected last sequence. Only Run's goroutine uses it.
type leader struct {
	r       *Relay
	conn    *pgx.Conn
	chains  map[string]*tenantChain
	lastSeq uint64

	resyncNeeded   bool
	backoff        time.Duration
	blockedPoll    time.Duration
	nextCheckpoint time.Time
}

// Run blocks until ctx ends. It tries to become leader every
// Config.RetryInterval; while leader it publishes the outbox and the
// checkpoints. Losing the leader connection ends the term and Run tries
// again. It returns nil when ctx ends; call it once per Relay.
func (r *Relay) Run(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		err := r.leadOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil && !errors.Is(err, ErrNotLeader) {
			r.cfg.Logger.WarnContext(ctx, "relay leadership attempt ended", slog.String("error", err.Error()))
		}
		timer.Reset(r.cfg.RetryInterval)
	}
}

// leadOnce takes the leader lock on a new connection and, if it gets it,
// leads until the connection fails or ctx ends.
func (r *Relay) leadOnce(ctx context.Context) error {
	conn, err := r.connectLeader(ctx)
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), connCloseTimeout)
		defer cancel()
		_ = conn.Close(cctx) // ends the session: the lock is released
	}()
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, LeaderLockKey).Scan(&ok); err != nil {
		return fmt.Errorf("relay: leader lock: %w", err)
	}
	if !ok {
		return ErrNotLeader
	}
	if _, err := conn.Exec(ctx, "LISTEN "+NotifyChannel); err != nil {
		return fmt.Errorf("relay: listen: %w", err)
	}
	r.setLeader(true)
	defer r.setLeader(false)
	r.cfg.Logger.InfoContext(ctx, "relay became leader")
	defer r.cfg.Logger.InfoContext(ctx, "relay leadership ended")
	l := &leader{r: r, conn: conn, chains: map[string]*tenantChain{}, resyncNeeded: true, nextCheckpoint: r.cfg.Now()}
	return l.run(ctx)
}

func (r *Relay) connectLeader(ctx context.Context) (*pgx.Conn, error) {
	cc, err := pgx.ParseConfig(r.cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("%w: DatabaseURL: %w", ErrInvalidConfig, err)
	}
	if cc.ConnectTimeout == 0 {
		cc.ConnectTimeout = 5 * time.Second
	}
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return nil, fmt.Errorf("relay: leader connection: %w", err)
	}
	if _, err := conn.Exec(ctx, "SET ROLE "+store.ServiceRole); err != nil {
		_ = conn.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("relay: leader connection: %w", err)
	}
	return conn, nil
}

// run is the leader loop: work, then sleep until a notification, the poll
// interval, the next checkpoint or the back-off ends.
func (l *leader) run(ctx context.Context) error {
	for {
		err := l.step(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if lost := l.checkConn(ctx); lost != nil {
				return lost
			}
			l.failed(ctx, err)
		} else {
			l.backoff = 0
		}
		if err := l.wait(ctx, l.sleep()); err != nil {
			return err
		}
	}
}

// step resyncs if needed, drains the outbox and publishes due checkpoints.
func (l *leader) step(ctx context.Context) error {
	if l.resyncNeeded {
		if err := l.resync(ctx); err != nil {
			return err
		}
		l.resyncNeeded = false
	}
	if err := l.drain(ctx); err != nil {
		return err
	}
	if now := l.r.cfg.Now(); !now.Before(l.nextCheckpoint) {
		l.nextCheckpoint = now.Add(l.r.cfg.CheckpointInterval)
		return l.publishCheckpoints(ctx)
	}
	return nil
}

// drain publishes batches until one comes back short, then updates the
// pending gauge and notes whether rows are held back by the horizon.
func (l *leader) drain(ctx context.Context) error {
	for {
		n, err := l.pass(ctx)
		if err != nil {
			return err
		}
		if n < l.r.cfg.BatchSize {
			break
		}
		if err := l.conn.Ping(ctx); err != nil { // still leader?
			return fmt.Errorf("%w: %w", ErrLeadershipLost, err)
		}
	}
	var pending int64
	if err := l.r.pool.QueryRow(ctx, `SELECT iam_relay_pending_count()`).Scan(&pending); err != nil {
		return fmt.Errorf("relay: pending count: %w", err)
	}
	l.r.m.pending.Set(float64(pending))
	if pending == 0 {
		l.blockedPoll = 0
	} else {
		l.blockedPoll = min(max(2*l.blockedPoll, blockedPollMin), l.r.cfg.PollInterval)
	}
	return nil
}

// failed counts a retry, schedules a resync and grows the back-off.
func (l *leader) failed(ctx context.Context, err error) {
	l.r.m.retries.Inc()
	l.resyncNeeded = true
	l.backoff = min(max(2*l.backoff, 50*time.Millisecond), l.r.cfg.MaxBackoff)
	if errors.Is(err, ErrDuplicatePublish) || isWrongLastSequence(err) {
		l.backoff = 0 // another writer appended: reconcile right away
	}
	l.r.cfg.Logger.ErrorContext(ctx, "relay publish failed; reconciling and retrying",
		slog.String("error", err.Error()), slog.Duration("backoff", l.backoff))
}

// checkConn returns ErrLeadershipLost when the leader connection is gone.
func (l *leader) checkConn(ctx context.Context) error {
	if err := l.conn.Ping(ctx); err != nil {
		return fmt.Errorf("%w: %w", ErrLeadershipLost, err)
	}
	return nil
}

// sleep is how long to wait before the next step.
func (l *leader) sleep() time.Duration {
	d := l.r.cfg.PollInterval
	if l.blockedPoll > 0 {
		d = l.blockedPoll
	}
	if l.backoff > 0 {
		d = l.backoff
	} else if l.resyncNeeded {
		d = 0
	}
	return max(0, min(d, l.nextCheckpoint.Sub(l.r.cfg.Now())))
}

// wait blocks until a notification arrives or d passes. A failure of the
// connection is ErrLeadershipLost.
func (l *leader) wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	_, err := l.conn.WaitForNotification(wctx)
	switch {
	case err == nil, ctx.Err() != nil:
		return nil
	case wctx.Err() != nil && !l.conn.IsClosed():
		return nil // timed out
	}
	return fmt.Errorf("%w: %w", ErrLeadershipLost, err)
}
