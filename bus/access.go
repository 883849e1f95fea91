package bus

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Access rules: who may register a family name, call a family's commands,
// send to a port or group and join a group. A file of rules
// (docs/BUS.md, "Access rules") compiles into an *Access, which the daemon
// applies to every request; a caller's part of each rule (uid, gid, user,
// group) is matched once per connection, so a request only looks at the
// rules that name its caller.

// Limits of an access file: configuration is input too.
const (
	maxAccessFile  = 1 << 20
	maxAccessRules = 4096
	maxRuleItems   = 1024
)

// DefaultAccessPath returns the access file of the system bus:
// /etc/nlbus/access.yaml, FreeBSD /usr/local/etc/nlbus/access.yaml.
func DefaultAccessPath() string {
	if runtime.GOOS == "freebsd" {
		return "/usr/local/etc/nlbus/access.yaml"
	}
	return "/etc/nlbus/access.yaml"
}

// ErrAccessFile wraps every error of ParseAccess and LoadAccess.
var ErrAccessFile = errors.New("nlbus: access rules")

// accessKind is what a rule allows or denies.
type accessKind uint8

const (
	kindRegister accessKind = iota
	kindCall
	kindSend
	kindJoin
	numKinds
)

var kindNames = [numKinds]string{"register", "call", "send", "join"}

// Access is a compiled set of access rules. It is immutable and safe for
// concurrent use; the daemon swaps whole sets (Server.SetAccess).
type Access struct {
	// Source names where the rules came from (a path), for logs and stats.
	Source string
	rules  []*rule
	admin  []uint32 // admin_groups, as group IDs
}

// Len returns the number of rules.
func (a *Access) Len() int {
	if a == nil {
		return 0
	}
	return len(a.rules)
}

// AdminGroups returns the groups of admin_groups whose members may call
// commands flagged admin, as group IDs.
func (a *Access) AdminGroups() []uint32 {
	if a == nil {
		return nil
	}
	return slices.Clone(a.admin)
}

// rule is one compiled rule.
type rule struct {
	label string // `"name"`, or `#N (line L)` for a rule without a name
	allow bool
	kind  accessKind
	// The caller: anyone, or a uid among uids, or a group among gids
	// (primary or supplementary).
	anyone     bool
	uids, gids []uint32
	// The target. families are patterns: "*", "prefix*" or a name.
	families []famPattern
	cmds     cmdSet
	ports    []span
	mcast    []span
}

// famPattern is a family name pattern, taken apart once: a name, a
// prefix (from "prefix*"), or any ("*": the empty prefix).
type famPattern struct {
	s      string
	prefix bool
}

func parsePattern(p string) famPattern {
	if strings.HasSuffix(p, "*") {
		return famPattern{p[:len(p)-1], true}
	}
	return famPattern{p, false}
}

// span is an inclusive range of ports or groups.
type span struct{ lo, hi uint32 }

// cmdSet is the commands a call rule covers.
type cmdSet struct {
	all, admin bool
	nums       [4]uint64 // bit n: command n
	names      []string  // by the names services register (bus.Op.Name)
}

func (c *cmdSet) has(cmd uint8, name string, admin bool) bool {
	return c.all || admin && c.admin || c.nums[cmd>>6]&(1<<(cmd&63)) != 0 ||
		name != "" && slices.Contains(c.names, name)
}

func inSpans(s []span, v uint32) bool {
	for _, x := range s {
		if v >= x.lo && v <= x.hi {
			return true
		}
	}
	return false
}

// matchFamily reports whether name matches one of the patterns.
func matchFamily(patterns []famPattern, name string) bool {
	for _, p := range patterns {
		if p.prefix && len(name) >= len(p.s) && name[:len(p.s)] == p.s || !p.prefix && name == p.s {
			return true
		}
	}
	return false
}

// matchesCaller reports whether the rule's caller part names id.
func (r *rule) matchesCaller(id *identity) bool {
	if r.anyone || slices.Contains(r.uids, id.uid) {
		return true
	}
	for _, g := range r.gids {
		if id.inGroup(g) {
			return true
		}
	}
	return false
}

// accessReq is one request as the rules see it.
type accessReq struct {
	kind    accessKind
	family  string // register, call; send and join to a family's group
	cmd     uint8  // call
	cmdName string // call: the command's name, if it has one
	admin   bool   // call: the command is flagged admin
	port    uint32 // send: unicast destination
	group   uint32 // send: multicast group; join
}

// matchesTarget reports whether the rule's target part covers q.
func (r *rule) matchesTarget(q *accessReq) bool {
	switch r.kind {
	case kindRegister:
		return matchFamily(r.families, q.family)
	case kindCall:
		return matchFamily(r.families, q.family) && r.cmds.has(q.cmd, q.cmdName, q.admin)
	}
	// send and join: no target part is every port and group.
	if r.ports == nil && r.mcast == nil && r.families == nil {
		return true
	}
	if q.group == 0 {
		return inSpans(r.ports, q.port)
	}
	return inSpans(r.mcast, q.group) || q.family != "" && matchFamily(r.families, q.family)
}

// describe says what q asked for, for denial texts and logs.
func (q *accessReq) describe() string {
	switch q.kind {
	case kindRegister:
		return fmt.Sprintf("registering family %q", q.family)
	case kindCall:
		if q.cmdName != "" {
			return fmt.Sprintf("calling command %d (%s) of family %q", q.cmd, q.cmdName, q.family)
		}
		return fmt.Sprintf("calling command %d of family %q", q.cmd, q.family)
	case kindSend:
		if q.group == 0 {
			return "sending to port " + utoa(q.port)
		}
		return "sending to group " + utoa(q.group)
	}
	return "joining group " + utoa(q.group)
}

// identity is a caller as the rules see it: its credentials and, when
// looked up, the supplementary groups of its uid in the user database.
type identity struct {
	pid      int32
	uid, gid uint32
	groups   []uint32
	looked   bool // groups were looked up
}

func (id *identity) inGroup(g uint32) bool {
	return id.gid == g || slices.Contains(id.groups, g)
}

// lookupIdentity resolves the supplementary groups of cr's uid. It may
// block on the user database (NSS): the daemon calls it in a new
// connection's own goroutine, before its first request, never while
// routing another's.
func lookupIdentity(cr creds) *identity {
	id := &identity{pid: cr.PID, uid: cr.UID, gid: cr.GID, looked: true}
	u, err := user.LookupId(strconv.FormatUint(uint64(cr.UID), 10))
	if err != nil {
		return id
	}
	gs, err := u.GroupIds()
	if err != nil {
		return id
	}
	for _, g := range gs {
		if n, err := strconv.ParseUint(g, 10, 32); err == nil && uint32(n) != cr.GID && len(id.groups) < 4096 {
			id.groups = append(id.groups, uint32(n))
		}
	}
	return id
}

// LoadAccess reads and compiles the access rules in the file at path.
func LoadAccess(path string) (*Access, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAccessFile, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxAccessFile+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrAccessFile, path, err)
	}
	a, err := ParseAccess(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	a.Source = path
	return a, nil
}

// ParseAccess compiles access rules from YAML (the format of docs/BUS.md,
// "Access rules"). User and group names are resolved to IDs here, once;
// an unknown name, an unknown key or a malformed value is an error that
// names its line. It never panics on its input.
func ParseAccess(data []byte) (*Access, error) {
	return parseAccess(data, &names{lookupUser: user.Lookup, lookupGroup: user.LookupGroup})
}

func parseAccess(data []byte, ns *names) (a *Access, err error) {
	defer func() {
		if err != nil {
			a, err = nil, fmt.Errorf("%w: %w", ErrAccessFile, err)
		}
	}()
	if len(data) > maxAccessFile {
		return nil, fmt.Errorf("larger than %d bytes", maxAccessFile)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	a = &Access{}
	if doc.Kind == 0 {
		return a, nil // an empty file: no rules
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, errors.New("not a YAML document")
	}
	top := doc.Content[0]
	ns.users, ns.groups = map[string]uint32{}, map[string]uint32{}
	if top.Kind != yaml.MappingNode {
		return nil, lineErr(top, "the file is a mapping with admin_groups and rules")
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		switch k.Value {
		case "admin_groups":
			items, err := scalars(v)
			if err != nil {
				return nil, err
			}
			for _, it := range items {
				g, err := ns.gid(it)
				if err != nil {
					return nil, err
				}
				a.admin = append(a.admin, g)
			}
		case "rules":
			if v.Kind != yaml.SequenceNode {
				return nil, lineErr(v, "rules is a list")
			}
			if len(v.Content) > maxAccessRules {
				return nil, lineErr(v, fmt.Sprintf("more than %d rules", maxAccessRules))
			}
			named := map[string]bool{}
			for n, rn := range v.Content {
				r, err := compileRule(rn, n+1, ns)
				if err != nil {
					return nil, err
				}
				// A denial names its rule: two of one name would leave the
				// reader guessing which.
				if strings.HasPrefix(r.label, `"`) {
					if named[r.label] {
						return nil, lineErr(rn, "a second rule named "+r.label)
					}
					named[r.label] = true
				}
				a.rules = append(a.rules, r)
			}
		default:
			return nil, lineErr(k, fmt.Sprintf("unknown key %q (admin_groups, rules)", k.Value))
		}
	}
	return a, nil
}

// opName reports whether s may be a command's name in a rule.
func opName(s string) bool {
	if s == "" || len(s) > 64 || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func lineErr(n *yaml.Node, msg string) error {
	return fmt.Errorf("line %d: %s", n.Line, msg)
}

// scalars returns a scalar or a list of scalars.
func scalars(n *yaml.Node) ([]*yaml.Node, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		return []*yaml.Node{n}, nil
	case yaml.SequenceNode:
		if len(n.Content) > maxRuleItems {
			return nil, lineErr(n, fmt.Sprintf("more than %d items", maxRuleItems))
		}
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return nil, lineErr(c, "a list of plain values is expected")
			}
		}
		return n.Content, nil
	}
	return nil, lineErr(n, "a value or a list of values is expected")
}

func uint32Of(n *yaml.Node, what string) (uint32, error) {
	v, err := strconv.ParseUint(n.Value, 0, 32)
	if err != nil {
		return 0, lineErr(n, fmt.Sprintf("%s %q is not a number", what, n.Value))
	}
	return uint32(v), nil
}

// names resolves user and group names once per file: a name repeated
// in many rules costs one look-up in the user database (lookupUser and
// lookupGroup: os/user's, or the fuzz test's stand-ins).
type names struct {
	users, groups map[string]uint32
	lookupUser    func(string) (*user.User, error)
	lookupGroup   func(string) (*user.Group, error)
}

// gid resolves a group given by name or number.
func (ns *names) gid(n *yaml.Node) (uint32, error) {
	if v, err := strconv.ParseUint(n.Value, 10, 32); err == nil {
		return uint32(v), nil
	}
	if v, ok := ns.groups[n.Value]; ok {
		return v, nil
	}
	g, err := ns.lookupGroup(n.Value)
	if err != nil {
		return 0, lineErr(n, fmt.Sprintf("unknown group %q", n.Value))
	}
	v, err := strconv.ParseUint(g.Gid, 10, 32)
	if err != nil {
		return 0, lineErr(n, fmt.Sprintf("group %q has no numeric ID", n.Value))
	}
	ns.groups[n.Value] = uint32(v)
	return uint32(v), nil
}

// uid resolves a user's name.
func (ns *names) uid(n *yaml.Node) (uint32, error) {
	if v, ok := ns.users[n.Value]; ok {
		return v, nil
	}
	u, err := ns.lookupUser(n.Value)
	if err != nil {
		return 0, lineErr(n, fmt.Sprintf("unknown user %q", n.Value))
	}
	v, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return 0, lineErr(n, fmt.Sprintf("user %q has no numeric ID", n.Value))
	}
	ns.users[n.Value] = uint32(v)
	return uint32(v), nil
}

// spans parses numbers and "LOW-HIGH" ranges.
func spans(n *yaml.Node, what string) ([]span, error) {
	items, err := scalars(n)
	if err != nil {
		return nil, err
	}
	out := make([]span, 0, len(items))
	for _, it := range items {
		lo, hi, isRange := strings.Cut(it.Value, "-")
		a, err := strconv.ParseUint(strings.TrimSpace(lo), 0, 32)
		b := a
		if err == nil && isRange {
			b, err = strconv.ParseUint(strings.TrimSpace(hi), 0, 32)
		}
		if err != nil || b < a {
			return nil, lineErr(it, fmt.Sprintf("%s %q is not a number or a LOW-HIGH range", what, it.Value))
		}
		out = append(out, span{uint32(a), uint32(b)})
	}
	return out, nil
}

// Keys a rule may have, by kind (besides name, allow/deny and the caller's
// uid, gid, user, group).
var ruleTargets = [numKinds][]string{
	kindRegister: {"family"},
	kindCall:     {"family", "commands"},
	kindSend:     {"port", "multicast", "family"},
	kindJoin:     {"multicast", "family"},
}

func compileRule(n *yaml.Node, num int, ns *names) (*rule, error) {
	if n.Kind != yaml.MappingNode {
		return nil, lineErr(n, "a rule is a mapping (name, allow or deny, who, what)")
	}
	r := &rule{label: fmt.Sprintf("#%d (line %d)", num, n.Line)}
	vals := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if _, dup := vals[k.Value]; dup {
			return nil, lineErr(k, fmt.Sprintf("%q given twice", k.Value))
		}
		vals[k.Value] = n.Content[i+1]
	}
	verb, hasAllow := vals["allow"]
	deny, hasDeny := vals["deny"]
	switch {
	case hasAllow == hasDeny:
		return nil, lineErr(n, "a rule has either allow or deny: register, call, send or join")
	case hasDeny:
		verb = deny
	default:
		r.allow = true
	}
	k := slices.Index(kindNames[:], verb.Value)
	if k < 0 || verb.Kind != yaml.ScalarNode {
		return nil, lineErr(verb, fmt.Sprintf("%q is not register, call, send or join", verb.Value))
	}
	r.kind = accessKind(k)
	if v, ok := vals["name"]; ok {
		if v.Kind != yaml.ScalarNode || v.Value == "" {
			return nil, lineErr(v, "name is a non-empty string")
		}
		r.label = strconv.Quote(v.Value)
	}
	caller := false
	for key, v := range vals {
		var err error
		switch key {
		case "name", "allow", "deny":
			continue
		case "uid", "gid":
			caller = true
			var items []*yaml.Node
			if items, err = scalars(v); err != nil {
				return nil, err
			}
			for _, it := range items {
				id, err := uint32Of(it, key)
				if err != nil {
					return nil, err
				}
				if key == "uid" {
					r.uids = append(r.uids, id)
				} else {
					r.gids = append(r.gids, id)
				}
			}
			continue
		case "user":
			caller = true
			var items []*yaml.Node
			if items, err = scalars(v); err != nil {
				return nil, err
			}
			for _, it := range items {
				id, err := ns.uid(it)
				if err != nil {
					return nil, err
				}
				r.uids = append(r.uids, id)
			}
			continue
		case "group":
			caller = true
			var items []*yaml.Node
			if items, err = scalars(v); err != nil {
				return nil, err
			}
			for _, it := range items {
				g, err := ns.gid(it)
				if err != nil {
					return nil, err
				}
				r.gids = append(r.gids, g)
			}
			continue
		}
		if !slices.Contains(ruleTargets[r.kind], key) {
			return nil, lineErr(v, fmt.Sprintf("unknown key %q in a %s rule (%s)", key, kindNames[r.kind],
				strings.Join(append([]string{"name", "uid", "gid", "user", "group"}, ruleTargets[r.kind]...), ", ")))
		}
		switch key {
		case "family":
			items, err := scalars(v)
			if err != nil {
				return nil, err
			}
			for _, it := range items {
				p := it.Value
				if p == "" || strings.Contains(strings.TrimSuffix(p, "*"), "*") {
					return nil, lineErr(it, fmt.Sprintf("family %q: a name, a prefix ending in * or *", p))
				}
				r.families = append(r.families, parsePattern(p))
			}
		case "commands":
			items, err := scalars(v)
			if err != nil {
				return nil, err
			}
			for _, it := range items {
				switch it.Value {
				case "all":
					r.cmds.all = true
				case "admin":
					r.cmds.admin = true
				default:
					if c, err := strconv.ParseUint(it.Value, 0, 8); err == nil {
						r.cmds.nums[c>>6] |= 1 << (c & 63)
						break
					}
					if !opName(it.Value) {
						return nil, lineErr(it, fmt.Sprintf("command %q: all, admin, a number 0-255 or a command's name (letters, digits, - _ .)", it.Value))
					}
					r.cmds.names = append(r.cmds.names, it.Value)
				}
			}
		case "port":
			r.ports, err = spans(v, "port")
		case "multicast":
			r.mcast, err = spans(v, "group")
		}
		if err != nil {
			return nil, err
		}
	}
	r.anyone = !caller
	switch r.kind {
	case kindRegister:
		if r.families == nil {
			return nil, lineErr(n, "a register rule names the family (a name, a prefix such as example.* or *)")
		}
	case kindCall:
		if r.families == nil {
			r.families = []famPattern{{prefix: true}}
		}
		if _, ok := vals["commands"]; !ok {
			r.cmds.all = true
		}
	}
	return r, nil
}
