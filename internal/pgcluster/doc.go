// Package pgcluster starts and stops a throwaway PostgreSQL cluster from the
// server binaries installed on the machine (initdb, pg_ctl, postgres).
//
// It backs both `iam dev` (a cluster in a data directory that is reused on the
// next run) and the test harness (one cluster per test binary). When the
// process runs as root, initdb refuses to run, so the cluster is created and
// started as the unprivileged `postgres` system user; the data directory is
// handed to that user first.
//
// The cluster listens on 127.0.0.1 only, on a port chosen by the caller (0
// picks a free one), trusts local connections (it is a development and test
// cluster, never a production one), and its unix socket lives inside the data
// directory so two clusters never collide.
package pgcluster
