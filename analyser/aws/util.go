package aws

import (
	"sort"

	"github.com/landfall/landfall/types"
)

func sortSpeakers(s []types.Speaker) {
	sort.Slice(s, func(i, j int) bool { return s[i].Label < s[j].Label })
}
