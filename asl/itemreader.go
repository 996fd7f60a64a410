package asl

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ReadItems parses a Map ItemReader object streamed from r as read says:
// JSON (an array), JSONL (one value a line) or CSV (rows as objects keyed
// by the header). At most read.MaxItems items are returned when it is set.
func ReadItems(read *ItemRead, r io.Reader) ([]any, error) {
	limit := read.MaxItems
	switch strings.ToUpper(read.InputType) {
	case "", "JSON":
		dec := json.NewDecoder(r)
		dec.UseNumber()
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("the object is not valid JSON: %v", err)
		}
		if d, ok := tok.(json.Delim); !ok || d != '[' {
			return nil, errors.New("Attempting to map over non-iterable node.")
		}
		items := []any{}
		for dec.More() {
			var v any
			if err := dec.Decode(&v); err != nil {
				return nil, fmt.Errorf("the object is not valid JSON: item %d: %v", len(items), err)
			}
			items = append(items, v)
			if limit > 0 && len(items) >= limit {
				return items, nil
			}
		}
		if _, err := dec.Token(); err != nil {
			return nil, fmt.Errorf("the object is not valid JSON: %v", err)
		}
		return items, nil
	case "JSONL":
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64*1024), MaxPayloadBytes*4)
		items := []any{}
		line := 0
		for sc.Scan() {
			line++
			text := strings.TrimSpace(sc.Text())
			if text == "" {
				continue
			}
			v, err := decodeJSON([]byte(text))
			if err != nil {
				return nil, fmt.Errorf("line %d is not valid JSON: %v", line, err)
			}
			items = append(items, v)
			if limit > 0 && len(items) >= limit {
				break
			}
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("reading JSONL: %v", err)
		}
		return items, nil
	case "CSV":
		cr := csv.NewReader(r)
		if read.CSVDelimiter != "" {
			cr.Comma = []rune(read.CSVDelimiter)[0]
		}
		cr.FieldsPerRecord = -1
		var header []string
		if read.CSVHeaderLocation == "GIVEN" {
			header = read.CSVHeaders
		} else {
			h, err := cr.Read()
			if errors.Is(err, io.EOF) {
				return []any{}, nil
			}
			if err != nil {
				return nil, fmt.Errorf("reading the CSV header: %v", err)
			}
			header = h
		}
		seen := map[string]bool{}
		for _, h := range header {
			if seen[h] {
				return nil, errors.New("CSV headers cannot contain duplicates.")
			}
			seen[h] = true
		}
		items := []any{}
		for {
			rec, err := cr.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("reading CSV: %v", err)
			}
			row := make(map[string]any, len(header))
			for i, h := range header {
				if i < len(rec) {
					row[h] = rec[i]
				} else {
					row[h] = ""
				}
			}
			items = append(items, row)
			if limit > 0 && len(items) >= limit {
				break
			}
		}
		return items, nil
	}
	return nil, fmt.Errorf("InputType %q is not supported by this reader", read.InputType)
}
