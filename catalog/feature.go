package catalog

import (
	"slices"

	"github.com/landfall/landfall/errcode"
)

// Feature names a part of the Store that a driver may lack. The SQL
// drivers have every feature; a driver that lacks some implements Partial,
// and each method of a missing feature returns an errcode.NotImplemented
// error naming the driver and the feature (see NotImplemented).
type Feature string

const (
	// FeatureAPIKeys is the APIKey* methods.
	FeatureAPIKeys Feature = "api-keys"
	// FeatureSearch is SearchQuery and the search index that MediaUpdate
	// and MediaDelete keep.
	FeatureSearch Feature = "search"
	// FeatureOutbox is the Outbox* and Delivery* methods and the Events of
	// MediaCreate and MediaUpdate.
	FeatureOutbox Feature = "outbox"
	// FeatureRules is the RuleStore.
	FeatureRules Feature = "rules"
	// FeatureReviews is the ReviewStore: the review queue and media
	// versions.
	FeatureReviews Feature = "reviews"
)

// Features lists every optional feature.
var Features = []Feature{FeatureAPIKeys, FeatureSearch, FeatureOutbox, FeatureRules, FeatureReviews, FeatureJobs}

// Partial is implemented by a driver that lacks features.
type Partial interface {
	// Unsupported lists the features the driver lacks.
	Unsupported() []Feature
}

// Supports reports whether st has feature f.
func Supports(st Store, f Feature) bool {
	p, ok := st.(Partial)
	return !ok || !slices.Contains(p.Unsupported(), f)
}

// NotImplemented is the error a driver returns from a method of a feature
// it lacks.
func NotImplemented(driver string, f Feature) error {
	return errcode.New(errcode.NotImplemented, "catalog: the %s driver does not implement %s", driver, f)
}
