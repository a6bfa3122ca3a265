// Package wire holds the wire types of the edge's decision API (requests,
// responses, the Problem error and its codes), with no dependencies, so a
// service calling an edge over HTTP (edge/client) does not link the
// decision engine, SQLite or NATS. edge/edgeapi implements the API over
// these types.
package wire
