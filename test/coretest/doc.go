// Package coretest starts a real core (in-process, on a random loopback
// port) against a fresh pgtest database, for integration tests, and offers a
// small JSON client for its API.
package coretest
