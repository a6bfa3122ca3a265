// Package hub runs the NATS server that core embeds: the hub of the delta
// transport between core and the edges.
//
// The hub owns three things:
//
//   - an embedded nats-server with JetStream file storage under
//     Config.DataDir/jetstream, a client listener for core's own processes and
//     a leaf-node listener (optionally TLS) on which edges authenticate with
//     the credentials in Config.LeafUsers;
//   - the stream IAM_DELTAS over the subjects melmastoon.iam.> (file storage,
//     bounded age, bytes and message size, a de-duplication window keyed by
//     the Nats-Msg-Id header, no deletes, no purges, discard old);
//   - PublishDelta, the one way the outbox relay appends a delta: with a
//     message id (duplicates are absorbed by the server) and an expected last
//     sequence (a second relay holding a stale view gets ErrWrongLastSequence
//     instead of forking the stream).
//
// # JetStream domain
//
// Over a leaf-node link the plain JetStream API ($JS.API.>) is not forwarded:
// both sides run JetStream (an edge keeps its own, local store), and a shared
// API subject would make every request ambiguous. The hub therefore runs in
// a JetStream domain (Config.Domain, default DefaultDomain "iam-hub"); the
// server answers $JS.<domain>.API.> as well as $JS.API.>, and the domain
// subject does travel over leaf links. Edges address the hub with
// jetstream.NewWithDomain(nc, "iam-hub") and consume IAM_DELTAS directly,
// with the hub's own stream sequence numbers. (Were an edge to copy the
// stream locally, it would have to be a mirror, which keeps the origin's
// sequence numbers; a source renumbers and would break the edge cursor.)
//
// The server's log lines are routed to the injected *slog.Logger through
// an adapter of the nats-server Logger interface; Fatalf is logged at error
// level and never exits the process.
package hub
