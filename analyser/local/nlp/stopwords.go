package nlp

import "strings"

// stopwords are English function words and spoken fillers. They delimit
// key-phrase candidates and carry no topic.
var stopwords = toSet(`a about above after again against all also am an and any are aren't as at be because been before
being below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during
each either else even ever every few for from further get gets getting go goes going gonna got had hadn't has hasn't
have haven't having he he'd he'll he's her here here's hers herself him himself his how how's however i i'd i'll i'm
i've if in into is isn't it it's its itself just let's like lot lots made make makes many may maybe me might more
most much must mustn't my myself need needs never no nor not now of off often on once one only or other others ought
our ours ourselves out over own per perhaps quite rather really same say says said see seen shall shan't she she'd
she'll she's should shouldn't so some something such than that that's the their theirs them themselves then there
there's these they they'd they'll they're they've thing things this those though through thus to today too under
until up upon us use used uses using very via want wants was wasn't way ways we we'd we'll we're we've well were
weren't what what's when when's where where's whether which while who who's whom whose why why's will with within
without won't would wouldn't yes yet you you'd you'll you're you've your yours yourself yourselves
um uh uhm erm hmm oh okay ok yeah yep right actually basically kind sort know mean think thanks thank welcome hello hi
first second third next last new good great also another around back come comes came take takes took tell told
let look looks looked put puts give gives gave keep keeps kept start starts started show shows showed try tries tried
talk talks talked call calls called find finds found work works worked able across along already always among
anyone anything everyone everything nothing someone sometimes still thing today together tomorrow two three four
five six seven eight nine ten zero hundred thousand million billion year years time times day days week weeks
whole part parts end ends`)

func toSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

func isStopword(w string) bool { return stopwords[strings.ToLower(w)] }
