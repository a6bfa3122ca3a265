// Package pgtest is the ephemeral-PostgreSQL test harness.
//
// A test binary calls Main from its TestMain. The first test that asks for a
// database starts one throwaway cluster for the whole binary (from the
// installed server binaries, as the postgres user when running as root) unless
// IAM_TEST_DATABASE_URL names an existing server. The migrations are applied
// once to a template database; every test then gets its own database cloned
// from the template (CREATE DATABASE … TEMPLATE), which takes milliseconds and
// keeps tests independent. When PostgreSQL cannot be had the test FAILS, it
// never skips: CI must not go green without the database.
package pgtest
