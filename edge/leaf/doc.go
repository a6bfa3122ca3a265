// Package leaf runs the NATS leaf node that an edge embeds: the edge's end
// of the delta transport from core's hub (package core/hub).
//
// The leaf owns an embedded nats-server that
//
//   - listens on no TCP port: the edge's own code talks to it through an
//     in-process connection (Conn);
//   - runs JetStream locally, in its own JetStream domain
//     (Config.LocalDomain), under Config.DataDir/jetstream;
//   - solicits one leaf-node connection to the hub (Config.HubLeafURL) with
//     a user and password and, optionally, TLS. nats-server re-dials the
//     hub by itself every Config.ReconnectInterval while the link is down;
//     Connected reports the link.
//
// # Why a JetStream domain
//
// Over a leaf-node link the plain JetStream API ($JS.API.>) is not
// forwarded: the leaf has its own JetStream, and the same API subject on
// both sides would be ambiguous. The hub therefore runs in a JetStream
// domain (Config.Domain, default "iam-hub") and the edge addresses it as
// $JS.iam-hub.API.> through jetstream.NewWithDomain; HubJetStream returns
// exactly that. The edge consumes the hub's stream IAM_DELTAS directly, so
// every delta keeps the hub's stream sequence, which the edge stores as its
// cursor and uses for gap detection. (A local copy, if ever wanted, must be
// a mirror: a mirror keeps the origin's sequence numbers, a source does
// not.)
//
// Consumer creates or binds the edge's durable pull consumer on the hub.
// FetchRange and GetMsg re-read deltas by stream sequence for gap repair;
// ErrRangeUnavailable tells the edge that the range has aged out and it
// must load a signed snapshot instead.
package leaf
