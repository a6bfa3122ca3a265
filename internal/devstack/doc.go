// Package devstack runs the all-in-one development stack behind `iam dev`:
// a throwaway PostgreSQL cluster in a data directory (or an existing database),
// core with its migrations applied, and a seeded demo tenant. Later issues add
// the NATS hub, an edge and devices here.
package devstack
