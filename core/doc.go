// Package core is the central IAM service: it owns every write (PostgreSQL via
// core/store), serves the admin REST API (core/api), and runs the background
// maintenance that keeps audit partitions ahead and idempotency keys purged.
//
// Like every component it is configured with a Config, built with New,
// driven by Run until its context ends, and released with Close.
package core
