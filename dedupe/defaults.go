package dedupe

// The defaults of Match. The [dedupe] block's config.go declares the same
// three names with its own values: when the branches meet, this file goes
// and config.go's values are set to these, which dev_pairs.jsonl measured.
const (
	// DefaultMaxDistance is the most SimHash bits two near-duplicates may
	// differ in: Bands finds every pair up to 3.
	DefaultMaxDistance = 3
	// DefaultMinSimilarity is the least Jaccard similarity of the shingle
	// sets that confirms a near-duplicate.
	DefaultMinSimilarity = 0.5
	// DefaultMinLength is the fewest runes of cleaned text a near-duplicate
	// needs: a shorter text has too few shingles for its SimHash to mean
	// anything, so it matches only when equal.
	DefaultMinLength = 12
)
