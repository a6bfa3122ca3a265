package core

import (
	"context"
	"encoding/json"
	"regexp"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/melmastoon/iam/core/store"
)

// EdgeStatusSubject is where edges report (iam.edge.status.<name>).
const EdgeStatusSubject = "iam.edge.status.*"

// maxEdgeStatusBytes bounds one report.
const maxEdgeStatusBytes = 4096

var edgeName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// watchEdges records every edge status report until ctx ends.
func (c *Core) watchEdges(ctx context.Context) error {
	reports := make(chan *nats.Msg, 256)
	sub, err := c.link.Conn().ChanSubscribe(EdgeStatusSubject, reports)
	if err != nil {
		return err
	}
	go func() {
		defer func() { _ = sub.Unsubscribe() }()
		for {
			select {
			case <-ctx.Done():
				return
			case m := <-reports:
				c.recordEdgeStatus(ctx, m)
			}
		}
	}()
	return nil
}

func (c *Core) recordEdgeStatus(ctx context.Context, m *nats.Msg) {
	var s store.EdgeStatus
	if len(m.Data) > maxEdgeStatusBytes || json.Unmarshal(m.Data, &s) != nil || !edgeName.MatchString(s.Name) ||
		m.Subject != "iam.edge.status."+s.Name {
		c.log.WarnContext(ctx, "edge status refused", "subject", m.Subject, "bytes", len(m.Data))
		return
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.store.Global(rctx, func(tx *store.Tx) error { return tx.RecordEdgeStatus(rctx, s) }); err != nil {
		c.log.WarnContext(ctx, "edge status not recorded", "edge", s.Name, "error", err)
	}
}
