// Package ynl reads the kernel's YNL family descriptions
// (Documentation/netlink/specs/*.yaml) far enough to call a
// generic-netlink family by names: it encodes name=value arguments into a
// request's attributes and decodes replies into named, ordered fields,
// printable as text or JSON.
//
// The subset understood: the family's name and protocol (genetlink,
// genetlink-c, genetlink-legacy); definitions of type enum and flags
// (entries, value-start) and of type struct (for fixed-header sizes);
// attribute-sets with their attributes' name, value (counted from 1, an
// explicit value resets the count), type, sub-type, nested-attributes,
// byte-order, enum, enum-as-flags, multi-attr, display-hint: hex and
// subset-of; operations with enum-model unified or directional, value,
// attribute-set, do and dump request and reply attributes, notify and
// event; mcast-groups. Other keys are ignored. Types are u8 to u64, s8 to
// s64, uint, sint, flag, string, binary, nest, indexed-array and
// nest-type-value; any other type is shown as binary.
//
//	spec, err := ynl.Parse(yamlText)
//	if err != nil {
//		return err // wraps ynl.ErrSpec
//	}
//	op, _ := spec.Op("getfamily")
//	attrs, err := ynl.EncodeArgs(op.Set, []string{"family-name=nlctrl"})
//	// ... send genl.Message{Header: genl.Header{Command: op.Value}, Data: attrs} ...
//	fields, err := ynl.Decode(op.Set, reply.Data)
//	fields.Text(os.Stdout)
//	json.NewEncoder(os.Stdout).Encode(fields)
//
// See ArgSyntax for the argument syntax. Parse, EncodeArgs and Decode never
// panic on their input and bound what they allocate by it.
package ynl
