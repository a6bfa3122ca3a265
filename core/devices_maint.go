package core

import (
	"context"

	"github.com/melmastoon/iam/core/devices"
)

// newDevices builds the device service (tenant CAs, enrollment, device
// requests over NATS); with a hub it signs with the relay's delta keys.
func (c *Core) newDevices() error {
	dc := devices.Config{Store: c.store, KEK: c.cfg.KEK, Auth: c.auth, CertValidity: c.cfg.DeviceCertValidity,
		Registry: c.metrics.Registry, Logger: c.log, Now: c.cfg.Now}
	if c.relay != nil {
		dc.Trust = c.relay
	}
	var err error
	c.devices, err = devices.New(dc)
	return err
}

// Devices exposes the device service (for tests).
func (c *Core) Devices() *devices.Service { return c.devices }

// maintainDevices gives tenants created before devices their CA, retires
// expired CA generations and purges expired device nonces.
func (c *Core) maintainDevices(ctx context.Context) {
	if n, err := c.devices.EnsureCAs(ctx); err != nil {
		c.log.WarnContext(ctx, "tenant CA backfill incomplete", "created", n, "error", err)
	} else if n > 0 {
		c.log.InfoContext(ctx, "tenant CAs created", "created", n)
	}
	if n, err := c.store.PurgeDeviceNonces(ctx); err != nil {
		c.log.WarnContext(ctx, "device nonce purge failed", "error", err)
	} else if n > 0 {
		c.log.InfoContext(ctx, "device nonces purged", "purged", n)
	}
}
