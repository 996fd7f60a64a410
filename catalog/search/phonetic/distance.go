package phonetic

// Distance returns the Levenshtein distance between a and b (in runes)
// when it is at most max, else max+1. It stops as soon as every entry of
// a row passes max, so comparing a word with a vocabulary is cheap.
func Distance(a, b string, max int) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > len(rb) {
		ra, rb = rb, ra
	}
	if len(rb)-len(ra) > max {
		return max + 1
	}
	prev := make([]int, len(ra)+1)
	cur := make([]int, len(ra)+1)
	for i := range prev {
		prev[i] = i
	}
	for j := 1; j <= len(rb); j++ {
		cur[0] = j
		best := cur[0]
		for i := 1; i <= len(ra); i++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			v := prev[i-1] + cost
			if d := prev[i] + 1; d < v {
				v = d
			}
			if d := cur[i-1] + 1; d < v {
				v = d
			}
			cur[i] = v
			if v < best {
				best = v
			}
		}
		if best > max {
			return max + 1
		}
		prev, cur = cur, prev
	}
	if prev[len(ra)] > max {
		return max + 1
	}
	return prev[len(ra)]
}

// MaxEdits is the edit distance tolerated for a word of n runes: none for
// short words (too many neighbours), one up to seven letters, two above.
func MaxEdits(n int) int {
	switch {
	case n < 4:
		return 0
	case n < 8:
		return 1
	}
	return 2
}
