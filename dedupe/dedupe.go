// Package dedupe finds demands that say the same thing: an exact
// fingerprint of the cleaned text, and near-duplicates by a 64-bit SimHash
// over shingles, confirmed by the Jaccard similarity of the shingle sets.
//
// Clean (see there) removes what is not the writer's own words — greetings,
// sign-offs, signatures, quoted replies, questionnaire boilerplate — and
// folds the rest to letters and digits. Shingles cut CJK text into
// character bigrams, without word segmentation, and other text into
// lightly stemmed words and word pairs. Match decides a pair.
package dedupe

import (
	"math/bits"
	"slices"
	"strings"
	"unicode/utf8"
)

// cjkGram is the CJK shingle size: two characters, because most Chinese
// words are two characters long and demands are short, so that trigrams
// change too much with one changed word (measured on dev_pairs.jsonl).
const cjkGram = 2

// Shingles are the hashed shingles of cleaned text (as Clean leaves it):
// character n-grams of each CJK run (a shorter run is one shingle), and
// for other text each lightly stemmed word and each pair of neighbouring
// words. A word between CJK characters is a word too.
func Shingles(cleaned string) []uint64 {
	out := make([]uint64, 0, len(cleaned)/3+1) // a shingle per CJK character, about
	var run []rune                             // the current CJK run
	var words []string                         // the current run of words
	flushRun := func() {
		if len(run) == 0 {
			return
		}
		if len(run) < cjkGram {
			out = append(out, hashRunes("c", run))
		}
		for i := 0; i+cjkGram <= len(run); i++ {
			out = append(out, hashRunes("c", run[i:i+cjkGram]))
		}
		run = run[:0]
	}
	flushWords := func() {
		for i, w := range words {
			out = append(out, fnvAdd(fnvAdd(fnvOffset, "w"), w))
			if i > 0 {
				out = append(out, fnvAdd(fnvAdd(fnvAdd(fnvAdd(fnvOffset, "p"), words[i-1]), " "), w))
			}
		}
		words = words[:0]
	}
	for i := 0; i < len(cleaned); {
		r, n := utf8.DecodeRuneInString(cleaned[i:])
		switch {
		case r == ' ':
			i += n
		case isCJK(r):
			flushWords()
			run = append(run, r)
			i += n
		default:
			flushRun()
			j := i
			for j < len(cleaned) {
				r, n := utf8.DecodeRuneInString(cleaned[j:])
				if r == ' ' || isCJK(r) {
					break
				}
				j += n
			}
			words = append(words, stem(cleaned[i:j]))
			i = j
		}
	}
	flushRun()
	flushWords()
	if len(out) == 0 {
		return nil // a text without shingles has none, not an empty set
	}
	return out
}

// FNV-1a, 64 bits, written out so that shingles are hashed without
// building their strings: the same values hash/fnv gives (stored SimHashes
// depend on them).
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvAdd(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

// hashRunes is the FNV-1a hash of kind and the runes rs, without building
// their string.
func hashRunes(kind string, rs []rune) uint64 {
	var buf [utf8.UTFMax * cjkGram]byte
	n := 0
	for _, r := range rs {
		n += utf8.EncodeRune(buf[n:], r)
	}
	h := fnvAdd(fnvOffset, kind)
	for _, c := range buf[:n] {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return h
}

// stem folds the English inflections that change most between two
// wordings of one request: plurals, -ing and -ed. It is no Porter stemmer:
// a wrong stem only matters when it differs between two forms of a word.
func stem(w string) string {
	n := len(w)
	switch {
	case n > 4 && strings.HasSuffix(w, "ies"):
		return w[:n-3] + "y"
	case n > 5 && strings.HasSuffix(w, "uses"): // statuses, buses
		return w[:n-2]
	case n > 4 && (strings.HasSuffix(w, "sses") || strings.HasSuffix(w, "xes") || strings.HasSuffix(w, "ches") ||
		strings.HasSuffix(w, "shes") || strings.HasSuffix(w, "zes")):
		return w[:n-2]
	case n > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us") &&
		!strings.HasSuffix(w, "is"):
		return w[:n-1]
	case n > 5 && strings.HasSuffix(w, "ing"):
		return undouble(w[:n-3])
	case n > 4 && strings.HasSuffix(w, "ied"):
		return w[:n-3] + "y"
	case n > 4 && strings.HasSuffix(w, "ed"):
		return undouble(w[:n-2])
	}
	return w
}

// undouble makes "stopp" (stopped, stopping) "stop"; ll, ss, zz and ff
// stay, as in "called" or "passed".
func undouble(w string) string {
	n := len(w)
	if n >= 3 && w[n-1] == w[n-2] && !strings.ContainsRune("lsfzaeiou", rune(w[n-1])) {
		return w[:n-1]
	}
	return w
}

// SimHash is the 64-bit SimHash of cleaned text's shingles.
func SimHash(cleaned string) uint64 { return simHash(Shingles(cleaned)) }

func simHash(shingles []uint64) uint64 {
	// Count the set bits per position; a position is set in the hash when
	// more than half of the shingles set it.
	var ones [64]int
	// Bit-sliced: lane k counts bits k, k+8, … k+56 of every shingle, a
	// byte each, so a shingle costs 8 adds instead of 64; the lanes are
	// emptied into ones before a byte can overflow.
	const spread = 0x0101010101010101
	var lanes [8]uint64
	for n, sh := range shingles {
		for k := range lanes {
			lanes[k] += sh >> k & spread
		}
		if n%255 == 254 || n == len(shingles)-1 {
			for k, l := range lanes {
				for b := range 8 {
					ones[8*b+k] += int(l >> (8 * b) & 0xff)
				}
			}
			lanes = [8]uint64{}
		}
	}
	var h uint64
	for i := range 64 {
		if 2*ones[i] > len(shingles) {
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

// Similarity is the Jaccard similarity of two cleaned texts' shingle
// sets; two empty texts are alike.
func Similarity(a, b string) float64 {
	j, _, _, _ := overlap(NewText(a), NewText(b))
	return j
}

// Containment is the overlap coefficient of two cleaned texts' shingle
// sets: the shared shingles over the smaller set.
func Containment(a, b string) float64 {
	_, c, _, _ := overlap(NewText(a), NewText(b))
	return c
}

// Text is a cleaned text made ready for comparison once: its SimHash and
// its distinct shingles in order. A record is compared with up to a few
// hundred stored demands of its customer, and each of those with every
// record of the batch; hashing each text once and intersecting sorted
// slices is what keeps near-duplicate linking close to the exact-only rate.
type Text struct {
	Cleaned  string
	Runes    int    // length in runes, for the short-text rule
	Hash     uint64 // SimHash
	shingles []uint64
}

// NewText prepares cleaned text (as Clean leaves it) for comparison.
func NewText(cleaned string) *Text { return NewTextHash(cleaned, 0) }

// NewTextHash is NewText for a text whose SimHash is known (stored with a
// demand; 0 when not), which saves computing it again.
func NewTextHash(cleaned string, hash uint64) *Text {
	sh := Shingles(cleaned)
	if hash == 0 {
		hash = simHash(sh)
	}
	t := &Text{Cleaned: cleaned, Runes: utf8.RuneCountInString(cleaned), Hash: hash}
	slices.Sort(sh)
	t.shingles = slices.Compact(sh)
	return t
}

// overlap is the Jaccard similarity and the overlap coefficient of two
// texts' shingle sets and the sizes of the smaller and larger sets.
func overlap(a, b *Text) (jaccard, containment float64, smaller, larger int) {
	sa, sb := a.shingles, b.shingles
	if len(sa) == 0 && len(sb) == 0 {
		return 1, 1, 0, 0
	}
	inter := 0
	for i, j := 0, 0; i < len(sa) && j < len(sb); {
		switch {
		case sa[i] < sb[j]:
			i++
		case sa[i] > sb[j]:
			j++
		default:
			inter++
			i++
			j++
		}
	}
	smaller, larger = min(len(sa), len(sb)), max(len(sa), len(sb))
	if smaller > 0 {
		containment = float64(inter) / float64(smaller)
	}
	return float64(inter) / float64(len(sa)+len(sb)-inter), containment, smaller, larger
}
