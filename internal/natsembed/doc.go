// Package natsembed runs an embedded nats-server the way both the hub
// (core/hub) and the leaf node (edge/leaf) need it: logs routed to slog,
// started, and waited for within a bound. It holds no state of its own.
package natsembed
