// Package quality measures Landfall's local analysers working together, as
// the pipeline runs them, on generated lectures and on the real recordings
// Debian ships (pocketsphinx-testdata's LibriVox sentences, alsa-utils'
// test voices). Its tests print the rows of `make quality`: word error
// rate with and without what the media teaches the recogniser (its
// on-screen text and file name), and how many summary words come from
// words the recogniser was unsure of, before and after the summariser
// weighed its sources.
//
// The media is split into a tuning set, used to choose the parameters (the
// confidence threshold, the second pass's design), and a scoring set that
// played no part in choosing them; every row says which set it measures.
package quality
