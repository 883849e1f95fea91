package genl

import (
	"reflect"
	"testing"
)

// FuzzParseFamily fuzzes the decoder of the controller's family attributes
// (the payload of CTRL_CMD_NEWFAMILY). Seeds under testdata/fuzz are this
// kernel's replies. What decodes must encode and decode to the same Family.
func FuzzParseFamily(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		var fam Family
		if err := fam.UnmarshalAttributes(b); err != nil {
			return
		}
		enc, err := fam.MarshalAttributes()
		if err != nil {
			t.Fatalf("marshal %+v: %v", fam, err)
		}
		var again Family
		if err := again.UnmarshalAttributes(enc); err != nil {
			t.Fatalf("decode of the re-encoded family: %v", err)
		}
		if !reflect.DeepEqual(normFamily(fam), normFamily(again)) {
			t.Fatalf("round trip changed the family:\n%+v\n%+v", fam, again)
		}
	})
}

func normFamily(f Family) Family {
	if len(f.Ops) == 0 {
		f.Ops = nil
	}
	if len(f.Groups) == 0 {
		f.Groups = nil
	}
	return f
}

// FuzzParsePolicy fuzzes the decoder of CTRL_CMD_GETPOLICY replies (one
// message's attributes: CTRL_ATTR_POLICY and CTRL_ATTR_OP_POLICY). Seeds
// under testdata/fuzz are this kernel's replies. What decodes must encode
// and decode to the same Policy.
func FuzzParsePolicy(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePolicy([]Message{{Data: b}})
		if err != nil {
			return
		}
		_ = p.String()
		msgs, err := p.Messages()
		if err != nil {
			t.Fatalf("encode %+v: %v", p, err)
		}
		again, err := ParsePolicy(msgs)
		if err != nil {
			t.Fatalf("decode of the re-encoded policy: %v", err)
		}
		if len(msgs) == 0 {
			again.FamilyID = p.FamilyID // no message carries it
		}
		if !reflect.DeepEqual(p, again) {
			t.Fatalf("round trip changed the policy:\n%+v\n%+v", p, again)
		}
	})
}
