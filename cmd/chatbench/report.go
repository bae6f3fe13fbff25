package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"text/tabwriter"
)

// report is the result of one run, printed as one JSON line (for scripts
// and the README table) and as a table for people. Keys keep their order.
type report struct {
	keys []string
	vals map[string]any
}

func newReport(scenario string) *report {
	r := &report{vals: map[string]any{}}
	r.add("scenario", scenario)
	return r
}

func (r *report) add(key string, v any) {
	if _, ok := r.vals[key]; !ok {
		r.keys = append(r.keys, key)
	}
	if f, ok := v.(float64); ok {
		v = math.Round(f*100) / 100
	}
	r.vals[key] = v
}

func (r *report) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range r.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kj, err := json.Marshal(k)
		if err != nil {
			return nil, fmt.Errorf("encode key %s: %w", k, err)
		}
		vj, err := json.Marshal(r.vals[k])
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", k, err)
		}
		b.Write(kj)
		b.WriteByte(':')
		b.Write(vj)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func (r *report) print(w io.Writer) error {
	line, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode summary: %w", err)
	}
	if _, err := fmt.Fprintf(w, "%s\n", line); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, k := range r.keys {
		switch v := r.vals[k].(type) {
		case latencySummary:
			fmt.Fprintf(tw, "%s\tp50 %.2f ms\tp90 %.2f ms\tp99 %.2f ms\tmax %.2f ms\t(n=%d)\n", k, v.P50, v.P90, v.P99, v.Max, v.Count)
		case float64:
			fmt.Fprintf(tw, "%s\t%.2f\n", k, v)
		default:
			fmt.Fprintf(tw, "%s\t%v\n", k, v)
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	return nil
}
