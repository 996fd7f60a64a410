// Package rule implements Amazon EventBridge's event-pattern language and
// the rules files that the event bus loads. It is pure: no I/O.
//
// Patterns ([ParsePattern]) support everything EventBridge accepts: exact
// strings, numbers, booleans and null; prefix, suffix and
// equals-ignore-case (also inside prefix and suffix); anything-but with
// values, prefix, suffix, wildcard and equals-ignore-case; numeric ranges;
// exists; wildcard with its escapes; cidr for IPv4 and IPv6; $or; nested
// objects and dotted keys; and array semantics (any element matches, and
// fields taken from objects of one array must come from the same element).
// Numbers are read as written, never through float64 first: 300 matches
// 300.0, -0 matches 0, and a number no double holds exactly is compared by
// its text. Invalid patterns yield a [*PatternError] naming the JSON
// Pointer of the problem and EventBridge's message for it.
//
// A [RuleSet] holds named patterns compiled into one automaton whose cost
// per event depends on the event's fields, not on the number of rules.
// It is safe for concurrent use while rules are added and removed.
// [RuleSet.AppendMatches] checks that the whole event is JSON;
// [RuleSet.AppendMatchesValid], for events already known to be valid JSON
// (the bus's), skips what no rule reads by counting brackets and stops
// reading once every path the rules use has had its value, so an object
// that gives one path twice outside arrays (a repeated member name, or
// "a.b" beside "a": {"b": …}) is matched on its first value only.
//
// A rules file ([LoadRulesFile]) lists rules with their targets, shaped
// like EventBridge's PutRule and PutTargets; [InputTransformer] evaluates
// EventBridge input transformers.
package rule
