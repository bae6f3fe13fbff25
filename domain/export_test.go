package domain

import "sort"

// EventTypes lists the catalogue, so the external tests can check that they
// cover every event type.
func EventTypes() []string {
	var types []string
	for t := range decoders {
		types = append(types, t)
	}
	sort.Strings(types)
	return types
}
