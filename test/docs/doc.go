// Package docs holds tests that keep the documentation honest: every alert
// has a runbook, every runbook an alert.
package docs
