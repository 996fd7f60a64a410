package search

// HitOfEntry makes a hit of entry id for tests of the fusion.
func HitOfEntry(id int64) *Hit { return &Hit{entryID: id} }
