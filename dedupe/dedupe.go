// Package dedupe finds demands that say the same thing: an exact
// fingerprint of the cleaned text, and near-duplicates by a 64-bit SimHash
// over character shingles, checked by the similarity of the shingle sets.
package dedupe

import (
	"hash/fnv"
	"math/bits"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Clean is the text a demand is compared on: NFKC, case folded, letters
// and digits only.
func Clean(title, text string) string {
	s := norm.NFKC.String(title + " " + text)
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// Shingles are the hashed character 3-grams of cleaned text.
func Shingles(cleaned string) []uint64 {
	rs := []rune(cleaned)
	if len(rs) < 3 {
		if len(rs) == 0 {
			return nil
		}
		return []uint64{hash(string(rs))}
	}
	out := make([]uint64, 0, len(rs)-2)
	for i := 0; i+3 <= len(rs); i++ {
		out = append(out, hash(string(rs[i:i+3])))
	}
	return out
}

func hash(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// SimHash is the 64-bit SimHash of cleaned text's shingles.
func SimHash(cleaned string) uint64 {
	var v [64]int
	for _, sh := range Shingles(cleaned) {
		for i := range 64 {
			if sh&(1<<i) != 0 {
				v[i]++
			} else {
				v[i]--
			}
		}
	}
	var h uint64
	for i := range 64 {
		if v[i] > 0 {
			h |= 1 << i
		}
	}
	return h
}

// Distance is the Hamming distance of two hashes.
func Distance(a, b uint64) int { return bits.OnesCount64(a ^ b) }

// Bands splits a hash into four 16-bit bands: two hashes within distance
// 3 share at least one band exactly, which an index finds.
func Bands(h uint64) [4]uint16 {
	return [4]uint16{uint16(h), uint16(h >> 16), uint16(h >> 32), uint16(h >> 48)}
}

// Similarity is the Jaccard similarity of two cleaned texts' shingle sets.
func Similarity(a, b string) float64 {
	sa, sb := map[uint64]bool{}, map[uint64]bool{}
	for _, s := range Shingles(a) {
		sa[s] = true
	}
	for _, s := range Shingles(b) {
		sb[s] = true
	}
	if len(sa) == 0 && len(sb) == 0 {
		return 1
	}
	inter := 0
	for s := range sa {
		if sb[s] {
			inter++
		}
	}
	return float64(inter) / float64(len(sa)+len(sb)-inter)
}
