package password

import "fmt"

// Bounds on Argon2id parameters, enforced on every hash created and every
// PHC string parsed. The upper bounds keep a corrupted or hostile stored
// value from turning one login into a denial of service.
const (
	// MinMemoryKiB is the smallest accepted memory cost (RFC 9106 allows 8·p
	// KiB; anything under 1 MiB is not a serious password hash).
	MinMemoryKiB = 1024
	// MaxMemoryKiB caps memory at 256 MiB per hash.
	MaxMemoryKiB = 256 * 1024
	// MinTime and MaxTime bound the number of passes.
	MinTime = 1
	MaxTime = 16
	// MinThreads and MaxThreads bound the degree of parallelism.
	MinThreads = 1
	MaxThreads = 16
	// MinSaltLen and MaxSaltLen bound the salt in bytes (RFC 9106 §3.1
	// recommends 16).
	MinSaltLen = 8
	MaxSaltLen = 64
	// MinKeyLen and MaxKeyLen bound the derived hash in bytes.
	MinKeyLen = 16
	MaxKeyLen = 64
	// MaxPHCLen caps the length of a PHC string accepted by ParsePHC.
	MaxPHCLen = 256
)

// Argon2Version is the only Argon2 version produced and accepted (0x13).
const Argon2Version = 19

// Params are the Argon2id cost parameters.
type Params struct {
	MemoryKiB uint32 // m: memory in KiB
	Time      uint32 // t: number of passes
	Threads   uint8  // p: degree of parallelism
	SaltLen   uint32 // salt length in bytes
	KeyLen    uint32 // derived key length in bytes
}

// DefaultParams returns the OWASP baseline m=19 MiB, t=2, p=1 with a 16-byte
// salt and a 32-byte hash. See the package documentation for the measurement
// behind the choice.
func DefaultParams() Params {
	return Params{MemoryKiB: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// Validate returns an error wrapping ErrParamsOutOfRange if any parameter is
// outside the package bounds.
func (p Params) Validate() error {
	switch {
	case p.MemoryKiB < MinMemoryKiB || p.MemoryKiB > MaxMemoryKiB:
		return parseErr("m", ErrParamsOutOfRange)
	case p.MemoryKiB < 8*uint32(p.Threads):
		return parseErr("m", ErrParamsOutOfRange)
	case p.Time < MinTime || p.Time > MaxTime:
		return parseErr("t", ErrParamsOutOfRange)
	case p.Threads < MinThreads || p.Threads > MaxThreads:
		return parseErr("p", ErrParamsOutOfRange)
	case p.SaltLen < MinSaltLen || p.SaltLen > MaxSaltLen:
		return parseErr("salt", ErrParamsOutOfRange)
	case p.KeyLen < MinKeyLen || p.KeyLen > MaxKeyLen:
		return parseErr("hash", ErrParamsOutOfRange)
	}
	return nil
}

// String renders the cost parameters as in a PHC string ("m=19456,t=2,p=1").
func (p Params) String() string {
	return fmt.Sprintf("m=%d,t=%d,p=%d", p.MemoryKiB, p.Time, p.Threads)
}
