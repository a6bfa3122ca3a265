// Package e2e drives the real iam binary as separate processes, as a user
// would: iam dev, iam admin, and (with later issues) core and edges killed
// and restarted. The binary is built once per test run in TestMain.
package e2e
