package ynl

import (
	"bytes"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// Strip returns spec without what Parse does not need: its comments and
// every doc key, re-written compactly (flow style is kept as it was). A
// kernel spec shrinks to a fraction, to fit as a bus family's description
// (bus.MaxDescription). The result parses to the same Spec.
func Strip(spec []byte) ([]byte, error) {
	if len(spec) > MaxSpecSize {
		return nil, fmt.Errorf("%w: %d bytes (at most %d)", ErrSpec, len(spec), MaxSpecSize)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(spec, &doc); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSpec, err)
	}
	strip(&doc, 0)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(1)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSpec, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSpec, err)
	}
	return b.Bytes(), nil
}

func strip(n *yaml.Node, depth int) {
	if n == nil || depth > 64 {
		return
	}
	n.HeadComment, n.LineComment, n.FootComment = "", "", ""
	if n.Kind == yaml.MappingNode {
		kept := n.Content[:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "doc" {
				continue
			}
			kept = append(kept, n.Content[i], n.Content[i+1])
		}
		n.Content = kept
	}
	for _, c := range n.Content {
		strip(c, depth+1)
	}
}
