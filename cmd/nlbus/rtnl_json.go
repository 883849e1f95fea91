package main

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"

	"github.com/nlbus/netlink/compat"
	"github.com/nlbus/netlink/rtnl"
)

// The JSON forms below use iproute2's key names and value spellings
// (ip -j link|addr|route|neigh show), so that scripts written against ip
// read nlbus's output.

type rtLinkJSON struct {
	Index     int          `json:"ifindex"`
	Name      string       `json:"ifname"`
	Link      jsonString   `json:"link,omitempty"`
	LinkIndex int          `json:"link_index,omitempty"`
	Flags     []string     `json:"flags"`
	MTU       uint32       `json:"mtu"`
	Qdisc     string       `json:"qdisc,omitempty"`
	Master    string       `json:"master,omitempty"`
	OperState string       `json:"operstate"`
	LinkMode  string       `json:"linkmode,omitempty"`
	ModeIndex *uint8       `json:"linkmode_index,omitempty"`
	Group     string       `json:"group"`
	TxQLen    uint32       `json:"txqlen,omitempty"`
	LinkType  string       `json:"link_type"`
	Address   string       `json:"address,omitempty"`
	Broadcast string       `json:"broadcast,omitempty"`
	Alias     string       `json:"ifalias,omitempty"`
	Kind      *rtInfoJSON  `json:"linkinfo,omitempty"`
	NetnsID   *int32       `json:"link_netnsid,omitempty"`
	AddrInfo  []rtAddrJSON `json:"addr_info,omitempty"`
}

// jsonString is a JSON string value, or null, already encoded: empty is
// left out with omitempty.
type jsonString json.RawMessage

var jsonNull = jsonString("null")

func jsonStringOf(s string) jsonString {
	b, _ := json.Marshal(s) // a string always marshals
	return b
}

// MarshalJSON returns j as it is.
func (j jsonString) MarshalJSON() ([]byte, error) { return j, nil }

type rtInfoJSON struct {
	Kind      string `json:"info_kind,omitempty"`
	SlaveKind string `json:"info_slave_kind,omitempty"`
}

// rtAddrJSON has ip's keys in ip's order (iproute2 ip/ipaddress.c
// print_addrinfo); the flags are print_ifa_flags'.
type rtAddrJSON struct {
	Family        string `json:"family"`
	Local         string `json:"local"`
	Peer          string `json:"address,omitempty"`
	Prefixlen     int    `json:"prefixlen"`
	Metric        uint32 `json:"metric,omitempty"`
	Broadcast     string `json:"broadcast,omitempty"`
	Scope         string `json:"scope"`
	Secondary     bool   `json:"secondary,omitempty"`
	Temporary     bool   `json:"temporary,omitempty"`
	Nodad         bool   `json:"nodad,omitempty"`
	Optimistic    bool   `json:"optimistic,omitempty"`
	Dadfailed     bool   `json:"dadfailed,omitempty"`
	Home          bool   `json:"home,omitempty"`
	Deprecated    bool   `json:"deprecated,omitempty"`
	Tentative     bool   `json:"tentative,omitempty"`
	Dynamic       bool   `json:"dynamic,omitempty"`
	Mngtmpaddr    bool   `json:"mngtmpaddr,omitempty"`
	Noprefixroute bool   `json:"noprefixroute,omitempty"`
	Autojoin      bool   `json:"autojoin,omitempty"`
	StablePrivacy bool   `json:"stable-privacy,omitempty"`
	IfaFlags      string `json:"ifa_flags,omitempty"`
	Label         string `json:"label,omitempty"`
	Valid         uint32 `json:"valid_life_time"`
	Preferred     uint32 `json:"preferred_life_time"`
}

// setFlags sets the flag keys from IFA_F_* as iproute2's print_ifa_flags
// does: IFA_F_SECONDARY is "temporary" on IPv6, IFA_F_PERMANENT is shown
// by its absence ("dynamic"), and bits it has no name for go, in hex, to
// "ifa_flags".
func (j *rtAddrJSON) setFlags(fam rtnl.Family, f uint32) {
	j.Dynamic = f&compat.IfaFPermanent == 0
	known := uint32(compat.IfaFPermanent)
	for _, x := range []struct {
		mask uint32
		key  *bool
	}{
		{compat.IfaFSecondary, &j.Secondary}, {compat.IfaFNodad, &j.Nodad},
		{compat.IfaFOptimistic, &j.Optimistic}, {compat.IfaFDadfailed, &j.Dadfailed},
		{compat.IfaFHomeaddress, &j.Home}, {compat.IfaFDeprecated, &j.Deprecated},
		{compat.IfaFTentative, &j.Tentative}, {compat.IfaFManagetmpaddr, &j.Mngtmpaddr},
		{compat.IfaFNoprefixroute, &j.Noprefixroute}, {compat.IfaFMcautojoin, &j.Autojoin},
		{compat.IfaFStablePrivacy, &j.StablePrivacy},
	} {
		known |= x.mask
		if f&x.mask != 0 {
			*x.key = true
		}
	}
	if j.Secondary && fam == rtnl.IPv6 {
		j.Secondary, j.Temporary = false, true
	}
	if rest := f &^ known; rest != 0 {
		j.IfaFlags = fmt.Sprintf("%02x", rest)
	}
}

type rtRouteJSON struct {
	Type     string          `json:"type,omitempty"`
	Dst      string          `json:"dst"`
	From     string          `json:"from,omitempty"`
	Gateway  string          `json:"gateway,omitempty"`
	Via      *rtViaJSON      `json:"via,omitempty"`
	Dev      string          `json:"dev,omitempty"`
	Table    string          `json:"table,omitempty"`
	Protocol string          `json:"protocol,omitempty"`
	Scope    string          `json:"scope,omitempty"`
	Metric   *uint32         `json:"metric,omitempty"`
	PrefSrc  string          `json:"prefsrc,omitempty"`
	Flags    []string        `json:"flags"`
	Expires  *int32          `json:"expires,omitempty"`
	Metrics  []rtObjectJSON  `json:"metrics,omitempty"`
	Pref     string          `json:"pref,omitempty"`
	Nexthops []rtNexthopJSON `json:"nexthops,omitempty"`
}

type rtViaJSON struct {
	Family string `json:"family"`
	Host   string `json:"host"`
}

type rtNexthopJSON struct {
	Gateway string   `json:"gateway,omitempty"`
	Dev     string   `json:"dev,omitempty"`
	Weight  int      `json:"weight"`
	Flags   []string `json:"flags"`
}

// rtNeighJSON has ip's keys in ip's order (iproute2 ip/ipneigh.c
// print_neigh).
type rtNeighJSON struct {
	Dst         string           `json:"dst"`
	Dev         string           `json:"dev,omitempty"`
	Lladdr      string           `json:"lladdr,omitempty"`
	Router      *json.RawMessage `json:"router,omitempty"` // null when set, as ip prints it
	Proxy       *json.RawMessage `json:"proxy,omitempty"`
	Managed     *json.RawMessage `json:"managed,omitempty"`
	ExternLearn *json.RawMessage `json:"extern_learn,omitempty"`
	Offload     *json.RawMessage `json:"offload,omitempty"`
	State       []string         `json:"state,omitempty"` // none for NUD_NONE (proxy entries)
	Protocol    string           `json:"protocol,omitempty"`
}

// rtIPFlagOrder is the order ip(8) prints interface flags in
// (iproute2 ip/ipaddress.c print_link_flags).
var rtIPFlagOrder = []struct {
	f    compat.IfFlags
	name string
}{
	{compat.IffLoopback, "LOOPBACK"}, {compat.IffBroadcast, "BROADCAST"}, {compat.IffPointToPoint, "POINTOPOINT"},
	{compat.IffMulticast, "MULTICAST"}, {compat.IffNoARP, "NOARP"}, {compat.IffAllMulti, "ALLMULTI"},
	{compat.IffPromisc, "PROMISC"}, {compat.IffMaster, "MASTER"}, {compat.IffSlave, "SLAVE"},
	{compat.IffDebug, "DEBUG"}, {compat.IffUp, "UP"}, {compat.IffLowerUp, "LOWER_UP"}, {compat.IffDormant, "DORMANT"},
}

// rtLinkFlags lists f as ip prints it; mdown adds "M-DOWN" (the lower link
// of IFLA_LINK is down).
func rtLinkFlags(f compat.IfFlags, mdown bool) []string {
	out := []string{}
	if f&compat.IffUp != 0 && f&compat.IffRunning == 0 {
		out = append(out, "NO-CARRIER")
	}
	for _, x := range rtIPFlagOrder {
		if f&x.f != 0 {
			out = append(out, x.name)
		}
	}
	if mdown {
		out = append(out, "M-DOWN")
	}
	return out
}

func rtLinkTypeName(t compat.LinkType) string {
	switch t {
	case compat.LinkEther, compat.LinkVLAN, compat.LinkBridge:
		return "ether"
	case compat.LinkLoopback:
		return "loopback"
	case compat.LinkNone:
		return "none"
	case compat.LinkTunnel:
		return "ipip"
	case compat.LinkGRE:
		return "gre"
	}
	return t.String()
}

// rtToLinkJSON converts l; up tells which links are up (for M-DOWN), nil
// when unknown.
func rtToLinkJSON(l rtnl.Link, names map[int]string, up map[int]bool) rtLinkJSON {
	j := rtLinkJSON{
		Index: l.Index, Name: l.Name, MTU: l.MTU, Qdisc: l.Qdisc,
		Master: names[l.MasterIndex], OperState: l.OperState.String(), Group: "default",
		TxQLen: l.TxQueueLen, LinkType: rtLinkTypeName(l.Type), Alias: l.Alias,
	}
	for typ, p := range rtnl.Attrs(l.Extra) {
		if typ == rtIflaLinkNetnsID && len(p) == 4 {
			id := int32(netlinkNE.Uint32(p))
			j.NetnsID = &id
		}
	}
	if l.Group != 0 {
		j.Group = strconv.Itoa(int(l.Group))
	}
	mdown := false
	if l.HasParent && l.ParentIndex == 0 {
		// IFLA_LINK 0: ip prints "link": null (and "@NONE" in text).
		j.Link = jsonNull
	}
	if l.ParentIndex != 0 {
		// As iproute2's print_name_and_link: when IFLA_LINK_NETNSID says
		// the lower link is in another namespace, its index means nothing
		// here and ip gives only that; else ip names it ("if7" when there
		// is no such link) and says M-DOWN when it is not up, or unknown.
		if j.NetnsID != nil {
			j.LinkIndex = l.ParentIndex
		} else {
			name := names[l.ParentIndex]
			if name == "" {
				name = "if" + strconv.Itoa(l.ParentIndex)
			}
			j.Link = jsonStringOf(name)
			if up != nil {
				mdown = !up[l.ParentIndex]
			}
		}
	}
	j.Flags = rtLinkFlags(l.Flags, mdown)
	if len(l.HardwareAddr) > 0 {
		j.Address = l.HardwareAddr.String()
	}
	if len(l.Broadcast) > 0 {
		j.Broadcast = l.Broadcast.String()
	}
	if l.Kind != "" || l.SlaveKind != "" {
		j.Kind = &rtInfoJSON{Kind: l.Kind, SlaveKind: l.SlaveKind}
	}
	return j
}

// setLinkMode sets linkmode from IFLA_LINKMODE as iproute2's
// print_linkmode does; ip link show prints it, ip addr show does not.
func (j *rtLinkJSON) setLinkMode(l rtnl.Link) {
	for typ, p := range rtnl.Attrs(l.Extra) {
		if typ != compat.IflaLinkmode || len(p) < 1 {
			continue
		}
		switch m := p[0]; m {
		case 0:
			j.LinkMode = "DEFAULT"
		case 1:
			j.LinkMode = "DORMANT"
		default:
			j.ModeIndex = &m
		}
	}
}

func rtScopeName(s uint8) string {
	switch s {
	case compat.RtScopeUniverse:
		return "global"
	case compat.RtScopeSite:
		return "site"
	case compat.RtScopeLink:
		return "link"
	case compat.RtScopeHost:
		return "host"
	case compat.RtScopeNowhere:
		return "nowhere"
	}
	return strconv.Itoa(int(s))
}

func rtToAddrJSON(a rtnl.Address) rtAddrJSON {
	j := rtAddrJSON{
		Family: a.Family.String(), Local: a.Prefix.Addr().String(), Prefixlen: a.Prefix.Bits(),
		Scope: rtScopeName(a.Scope), Valid: a.ValidLifetime, Preferred: a.PreferredLifetime,
		Metric: a.Metric,
	}
	j.setFlags(a.Family, a.Flags)
	if a.Peer.IsValid() {
		j.Peer = a.Peer.String()
	}
	if a.Broadcast.IsValid() {
		j.Broadcast = a.Broadcast.String()
	}
	if a.Family == rtnl.IPv4 {
		j.Label = a.Label
	}
	return j
}

var rtRouteTypes = [...]string{"unspec", "unicast", "local", "broadcast", "anycast", "multicast", "blackhole", "unreachable", "prohibit", "throw", "nat", "xresolve"}

var rtProtoNames = map[uint8]string{
	compat.RtprotUnspec: "unspec", compat.RtprotRedirect: "redirect", compat.RtprotKernel: "kernel",
	compat.RtprotBoot: "boot", compat.RtprotStatic: "static", compat.RtprotGated: "gated", compat.RtprotRA: "ra",
	compat.RtprotZebra: "zebra", compat.RtprotBird: "bird", compat.RtprotDnrouted: "dnrouted",
	compat.RtprotXorp: "xorp", compat.RtprotNTK: "ntk", compat.RtprotDHCP: "dhcp",
	compat.RtprotKeepalived: "keepalived", compat.RtprotBabel: "babel", compat.RtprotOpenr: "openr",
	compat.RtprotBGP: "bgp", compat.RtprotISIS: "isis", compat.RtprotOSPF: "ospf", compat.RtprotRIP: "rip",
	compat.RtprotEIGRP: "eigrp",
}

// rtMetricNames are iproute2's names of the RTAX_* metrics (ip/iproute.c
// mx_names), indexed by type; RTAX_CC_ALGO's JSON key is "congestion".
var rtMetricNames = [...]string{
	compat.RtaxMTU: "mtu", compat.RtaxWindow: "window", compat.RtaxRTT: "rtt",
	compat.RtaxRTTVar: "rttvar", compat.RtaxSSThresh: "ssthresh", compat.RtaxCwnd: "cwnd",
	compat.RtaxAdvmss: "advmss", compat.RtaxReordering: "reordering", compat.RtaxHoplimit: "hoplimit",
	compat.RtaxInitcwnd: "initcwnd", compat.RtaxFeatures: "features", compat.RtaxRTOMin: "rto_min",
	compat.RtaxInitrwnd: "initrwnd", compat.RtaxQuickack: "quickack", compat.RtaxCCAlgo: "congestion",
	compat.RtaxFastopenNoCookie: "fastopen_no_cookie",
}

// rtUserHZ is Linux's USER_HZ, the clock ticks per second of the times
// rtnetlink reports (sysconf(_SC_CLK_TCK), which iproute2's get_user_hz
// reads: 100 on every architecture Go runs on).
const rtUserHZ = 100

// rtaxFeatureECN is RTAX_FEATURE_ECN.
const rtaxFeatureECN = 1

// rtMetricsJSON builds the one object of ip's "metrics" array, as
// iproute2's print_rta_metrics does: metrics in RTAX_* order, a locked
// metric without a value as 0, RTAX_LOCK itself not shown, hoplimit -1
// (the default) left out, rtt and rttvar in milliseconds (the kernel keeps
// them times 8 and 4), RTAX_FEATURE_ECN as "ecn":null and other feature
// bits as hex, metrics ip does not know left out.
func rtMetricsJSON(ms []rtnl.Metric, ccAlgo string) rtObjectJSON {
	var (
		val  [len(rtMetricNames)]uint32
		has  [len(rtMetricNames)]bool
		lock uint32
	)
	for _, m := range ms {
		switch {
		case m.Type == compat.RtaxLock:
			lock = m.Value
		case int(m.Type) < len(val):
			val[m.Type], has[m.Type] = m.Value, true
		}
	}
	has[compat.RtaxCCAlgo] = ccAlgo != ""
	obj := rtObjectJSON{}
	for i := compat.RtaxMTU; i < len(val); i++ {
		if !has[i] && lock&(1<<i) == 0 {
			continue
		}
		v := val[i]
		switch i {
		case compat.RtaxHoplimit:
			if int32(v) == -1 {
				continue
			}
		case compat.RtaxFeatures:
			if v&rtaxFeatureECN != 0 {
				obj = append(obj, rtKV{"ecn", nil})
			}
			if v&^rtaxFeatureECN != 0 {
				obj = append(obj, rtKV{"features", fmt.Sprintf("%#x", v)})
			}
			continue
		case compat.RtaxRTT:
			v /= 8
		case compat.RtaxRTTVar:
			v /= 4
		case compat.RtaxCCAlgo:
			obj = append(obj, rtKV{rtMetricNames[i], ccAlgo})
			continue
		}
		obj = append(obj, rtKV{rtMetricNames[i], v})
	}
	return obj
}

// rtKV is one key of an rtObjectJSON.
type rtKV struct {
	k string
	v any
}

// rtObjectJSON is a JSON object whose keys keep their order.
type rtObjectJSON []rtKV

func (o rtObjectJSON) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, kv := range o {
		if i > 0 {
			b = append(b, ',')
		}
		k, err := json.Marshal(kv.k)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(kv.v)
		if err != nil {
			return nil, err
		}
		b = append(append(append(b, k...), ':'), v...)
	}
	return append(b, '}'), nil
}

// rtProtoName is iproute2's rtnl_rtprot_n2a.
func rtProtoName(p uint8) string {
	if n, ok := rtProtoNames[p]; ok {
		return n
	}
	return strconv.Itoa(int(p))
}

func rtTableName(f compat.Facts, t uint32) string {
	if t == f.RTTableMain {
		return "main"
	}
	if f.OS == compat.Linux {
		switch t {
		case compat.RtTableLocalLinux:
			return "local"
		case compat.RtTableDefaultLinux:
			return "default"
		}
	}
	return strconv.FormatUint(uint64(t), 10)
}

func rtNexthopFlags(fl uint32) []string {
	out := []string{}
	if fl&compat.RtnhFDead != 0 {
		out = append(out, "dead")
	}
	if fl&compat.RtnhFOnlink != 0 {
		out = append(out, "onlink")
	}
	if fl&compat.RtnhFLinkdown != 0 {
		out = append(out, "linkdown")
	}
	return out
}

func rtPrefixString(p netip.Prefix) string {
	if p.Bits() == 0 {
		return "default"
	}
	if p.Bits() == p.Addr().BitLen() {
		return p.Addr().String()
	}
	return p.String()
}

func rtToRouteJSON(f compat.Facts, r rtnl.Route, names map[int]string, tableKnown bool) rtRouteJSON {
	j := rtRouteJSON{Dst: rtPrefixString(r.Dst), Dev: names[r.OutIndex], Flags: rtNexthopFlags(r.Flags)}
	if r.Type != compat.RtnUnicast {
		if int(r.Type) < len(rtRouteTypes) {
			j.Type = rtRouteTypes[r.Type]
		} else {
			j.Type = strconv.Itoa(int(r.Type))
		}
	}
	if r.Src.IsValid() && r.Src.Bits() > 0 {
		j.From = rtPrefixString(r.Src)
	}
	if r.Gateway.IsValid() {
		j.Gateway = r.Gateway.String()
	}
	if r.Via.IsValid() {
		fam := "inet"
		if r.Via.Is6() {
			fam = "inet6"
		}
		j.Via = &rtViaJSON{Family: fam, Host: r.Via.String()}
	}
	if !tableKnown && r.Table != f.RTTableMain {
		j.Table = rtTableName(f, r.Table)
	}
	if r.Protocol != compat.RtprotBoot {
		j.Protocol = rtProtoName(r.Protocol)
	}
	if r.Scope != compat.RtScopeUniverse {
		j.Scope = rtScopeName(r.Scope)
	}
	if r.Family == rtnl.IPv6 || r.Priority != 0 {
		m := r.Priority
		j.Metric = &m
	}
	if r.PrefSrc.IsValid() {
		j.PrefSrc = r.PrefSrc.String()
	}
	if r.Family == rtnl.IPv6 {
		switch r.Pref {
		case 0:
			j.Pref = "medium"
		case 1:
			j.Pref = "high"
		case 3:
			j.Pref = "low"
		}
	}
	if r.Expires != 0 {
		// iproute2's print_rta_cacheinfo divides rta_expires, in clock
		// ticks, by USER_HZ (100 on Linux); FreeBSD's RTA_EXPIRES is in
		// seconds.
		e := r.Expires
		if f.OS == compat.Linux {
			e /= rtUserHZ
		}
		j.Expires = &e
	}
	if r.Metrics != nil || r.CCAlgo != "" {
		j.Metrics = []rtObjectJSON{rtMetricsJSON(r.Metrics, r.CCAlgo)}
	}
	for _, h := range r.Multipath {
		nh := rtNexthopJSON{Dev: names[h.Index], Weight: h.Weight, Flags: rtNexthopFlags(uint32(h.Flags))}
		if h.Gateway.IsValid() {
			nh.Gateway = h.Gateway.String()
		}
		j.Nexthops = append(j.Nexthops, nh)
	}
	return j
}

func rtToNeighJSON(n rtnl.Neighbor, names map[int]string) rtNeighJSON {
	j := rtNeighJSON{Dst: n.IP.String(), Dev: names[n.Index]}
	if n.State != 0 {
		j.State = n.State.Names()
	}
	if len(n.HardwareAddr) > 0 {
		j.Lladdr = n.HardwareAddr.String()
	}
	if n.Flags&compat.NtfRouter != 0 {
		j.Router = &rtJSONNull
	}
	if n.Flags&compat.NtfProxy != 0 {
		j.Proxy = &rtJSONNull
	}
	if n.Flags&compat.NtfManaged != 0 {
		j.Managed = &rtJSONNull
	}
	if n.Flags&compat.NtfExtLearned != 0 {
		j.ExternLearn = &rtJSONNull
	}
	if n.Flags&compat.NtfOffloaded != 0 {
		j.Offload = &rtJSONNull
	}
	for typ, p := range rtnl.Attrs(n.Extra) {
		if typ == compat.NdaProtocol && len(p) == 1 && p[0] != 0 {
			j.Protocol = rtProtoName(p[0])
		}
	}
	return j
}

var rtJSONNull = json.RawMessage("null")

// rtIflaLinkNetnsID is IFLA_LINK_NETNSID, the same on Linux and FreeBSD
// (below compat.IFLACommonMax).
const rtIflaLinkNetnsID = 37
