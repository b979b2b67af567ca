package dedupe

import "unicode/utf8"

// Thresholds decide near-duplicates.
type Thresholds struct {
	// MaxDistance, when above 0, also requires the SimHashes to be at most
	// this many bits apart. By default (0) it is not required: on
	// dev_pairs.jsonl a distance of at most 3 missed 4 of 22 duplicates
	// (short texts with one word changed differ in 5 to 14 bits) and
	// rejected no pair that the similarity passed.
	MaxDistance int
	// MinSimilarity is the least Jaccard similarity of the shingle sets;
	// 0 means DefaultMinSimilarity.
	MinSimilarity float64
	// MinLength is the fewest runes of cleaned text below which texts
	// match only when equal; 0 means DefaultMinLength.
	MinLength int
}

// Match decides whether two cleaned texts are near-duplicates under the
// default thresholds.
func Match(a, b string) (distance int, similarity float64, dup bool) {
	return Thresholds{}.Match(a, b)
}

// Match decides whether two cleaned texts (as Clean leaves them) are
// near-duplicates: equal, or both at least MinLength runes long with
// shingle sets at least MinSimilarity alike (and SimHashes within
// MaxDistance when that is set). The distance is returned either way: a
// band index finds only pairs within DefaultMaxDistance. Empty texts (all
// greeting and boilerplate) match nothing.
func (t Thresholds) Match(a, b string) (distance int, similarity float64, dup bool) {
	if t.MinSimilarity == 0 {
		t.MinSimilarity = DefaultMinSimilarity
	}
	if t.MinLength == 0 {
		t.MinLength = DefaultMinLength
	}
	distance = Distance(SimHash(a), SimHash(b))
	similarity = Similarity(a, b)
	switch {
	case a == "" || b == "":
		return distance, similarity, false
	case a == b:
		return distance, similarity, true
	case utf8.RuneCountInString(a) < t.MinLength || utf8.RuneCountInString(b) < t.MinLength:
		return distance, similarity, false
	case t.MaxDistance > 0 && distance > t.MaxDistance:
		return distance, similarity, false
	}
	return distance, similarity, similarity >= t.MinSimilarity
}
