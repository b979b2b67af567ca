package dedupe

// The defaults of Match. The [dedupe] block's config.go declares the same
// three names with its own values: when the branches meet, this file goes
// and config.go's values are set to these, which dev_pairs.jsonl measured.
const (
	// DefaultMaxDistance is the reach of a band index: Bands finds every
	// pair of SimHashes up to 3 bits apart. Match does not require it by
	// default (see Thresholds.MaxDistance).
	DefaultMaxDistance = 3
	// DefaultMinSimilarity is the least Jaccard similarity of the shingle
	// sets of two near-duplicates. On dev_pairs.jsonl every duplicate was
	// at least 0.73 and every other pair at most 0.66.
	DefaultMinSimilarity = 0.7
	// DefaultMinLength is the fewest runes of cleaned text a near-duplicate
	// needs: a shorter text has too few shingles for its SimHash to mean
	// anything, so it matches only when equal.
	DefaultMinLength = 12
)
