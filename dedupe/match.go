package dedupe

import "unicode/utf8"

// Thresholds decide near-duplicates; the zero value means the defaults.
type Thresholds struct {
	MaxDistance   int     // SimHash bits; ≤ 3 for Bands to find the pair
	MinSimilarity float64 // Jaccard similarity of the shingle sets
	MinLength     int     // runes of cleaned text below which only equal texts match
}

// Match decides whether two cleaned texts are near-duplicates under the
// default thresholds.
func Match(a, b string) (distance int, similarity float64, dup bool) {
	return Thresholds{}.Match(a, b)
}

// Match decides whether two cleaned texts (as Clean leaves them) are
// near-duplicates: equal, or both at least MinLength runes long with
// SimHashes within MaxDistance and shingle sets at least MinSimilarity
// alike. The SimHash test is what a band index can find; the similarity
// confirms it, since unrelated texts can collide on a 64-bit hash. Empty
// texts (all greeting and boilerplate) match nothing.
func (t Thresholds) Match(a, b string) (distance int, similarity float64, dup bool) {
	t = t.withDefaults()
	distance = Distance(SimHash(a), SimHash(b))
	similarity = Similarity(a, b)
	if a == "" || b == "" {
		return distance, similarity, false
	}
	if a == b {
		return distance, similarity, true
	}
	if utf8.RuneCountInString(a) < t.MinLength || utf8.RuneCountInString(b) < t.MinLength {
		return distance, similarity, false
	}
	return distance, similarity, distance <= t.MaxDistance && similarity >= t.MinSimilarity
}

func (t Thresholds) withDefaults() Thresholds {
	if t.MaxDistance == 0 {
		t.MaxDistance = DefaultMaxDistance
	}
	if t.MinSimilarity == 0 {
		t.MinSimilarity = DefaultMinSimilarity
	}
	if t.MinLength == 0 {
		t.MinLength = DefaultMinLength
	}
	return t
}
