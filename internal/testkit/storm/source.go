package storm

import (
	"hash/fnv"
	"math/rand"
)

// Source makes the storm's choices.
type Source interface {
	// Intn returns a choice in [0, n).
	Intn(n int) int
}

// Seeded is a Source from a seed: the same seed, the same history.
func Seeded(seed int64) Source { return rand.New(rand.NewSource(seed)) }

// Bytes is a Source driven by data (a fuzzer's input): each choice takes a
// byte; when the data runs out, a PRNG seeded from the data continues, so
// any input yields a full history.
func Bytes(data []byte) Source {
	h := fnv.New64a()
	_, _ = h.Write(data)
	return &bytesSource{data: data, rest: rand.New(rand.NewSource(int64(h.Sum64())))}
}

type bytesSource struct {
	data []byte
	pos  int
	rest *rand.Rand
}

func (b *bytesSource) Intn(n int) int {
	if n <= 1 {
		return 0
	}
	if b.pos < len(b.data) {
		v := int(b.data[b.pos])
		b.pos++
		return v % n
	}
	return b.rest.Intn(n)
}
