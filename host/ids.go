package host

import (
	"crypto/rand"
	"encoding/binary"
	"time"
)

const crockford = "0123456789abcdefghjkmnpqrstvwxyz"

// newID returns prefix + 26 characters: a 48-bit millisecond time and 80
// random bits in Crockford base32, so ids sort by creation time and fit the
// 30-character merchant order numbers providers accept ("pay_" + 26).
func newID(prefix string, now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	if _, err := rand.Read(b[6:]); err != nil {
		panic("host: crypto/rand failed: " + err.Error())
	}
	out := make([]byte, len(prefix)+26)
	copy(out, prefix)
	// 128 bits → 26 base32 digits (the top 2 bits of the first digit are 0)
	var hi, lo = binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	for i := len(out) - 1; i >= len(prefix); i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out)
}
