package relay

// SetBeforeMarkHook installs a hook that runs after a batch is published
// and before it is marked (tests simulate a crash there).
func SetBeforeMarkHook(c *Config, f func(published int) error) { c.beforeMark = f }

// DataToCBOR exposes the outbox JSON → CBOR conversion.
var DataToCBOR = dataToCBOR
