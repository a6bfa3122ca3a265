// Package edgeapi is the decision API of an edge: the wire types of
// POST /api/v1/verify, /api/v1/check, /api/v1/check/batch and GET
// /api/v1/permissions and /api/v1/flags, and Service, which answers them
// from an edge/decide.Decider.
//
// Service is the one implementation of the decisions: the edge's HTTP
// handlers are a thin JSON layer around it, and a Go service that embeds
// the replica (the in-process mode of edge/client) calls it directly, so
// both give the same answers, the same errors and the same metrics.
//
// Errors are *Problem values carrying a registered MELMASTOON.IAM.* code
// (docs/error-codes.md) and the HTTP status it maps to. A refused token is
// a Problem with one of the MELMASTOON.IAM.TOKEN.* codes; a denied check is
// not an error but a CheckResponse with Allowed false and a Reason.
//
// Staleness: when the replica has not heard from core for longer than
// MaxStaleness, answers go on (Stale reports it, and the HTTP layer sets
// the Staleness header) unless FailClosed is set, in which case every
// decision fails with MELMASTOON.IAM.EDGE.STALE until the replica catches
// up.
package edgeapi
