package genl

// Values of the generic-netlink controller protocol. They are the same on
// Linux (include/uapi/linux/genetlink.h, include/uapi/linux/netlink.h) and
// FreeBSD (sys/netlink/netlink_generic.h), which implements a subset.

// CtrlID is the message type of the controller, nlctrl (GENL_ID_CTRL): it is
// NLMSG_MIN_TYPE on both OSes and on the bus.
const CtrlID uint16 = 0x10

// HeaderLen is the size of the generic-netlink header (GENL_HDRLEN).
const HeaderLen = 4

// NameMax is the longest family or group name, in bytes, without its
// terminating NUL (GENL_NAMSIZ - 1).
const NameMax = 15

// Controller commands (CTRL_CMD_*).
const (
	CmdNewFamily    uint8 = 1
	CmdDelFamily    uint8 = 2
	CmdGetFamily    uint8 = 3
	CmdNewOps       uint8 = 4
	CmdDelOps       uint8 = 5
	CmdGetOps       uint8 = 6
	CmdNewMcastGrp  uint8 = 7
	CmdDelMcastGrp  uint8 = 8
	CmdGetMcastGrp  uint8 = 9
	CmdGetPolicy    uint8 = 10
	ctrlVersion     uint8 = 2 // the version nlctrl reports on Linux
	ctrlNotifyGroup       = "notify"
	ctrlName              = "nlctrl"
)

// Controller attributes (CTRL_ATTR_*).
const (
	attrFamilyID    uint16 = 1
	attrFamilyName  uint16 = 2
	attrVersion     uint16 = 3
	attrHdrSize     uint16 = 4
	attrMaxAttr     uint16 = 5
	attrOps         uint16 = 6
	attrMcastGroups uint16 = 7
	attrPolicy      uint16 = 8
	attrOpPolicy    uint16 = 9
	attrOp          uint16 = 10
)

// Nested attributes of an operation (CTRL_ATTR_OP_*), a multicast group
// (CTRL_ATTR_MCAST_GRP_*) and an operation's policies (CTRL_ATTR_POLICY_*).
const (
	attrOpID    uint16 = 1
	attrOpFlags uint16 = 2

	attrGrpName uint16 = 1
	attrGrpID   uint16 = 2

	attrPolicyDo   uint16 = 1
	attrPolicyDump uint16 = 2
)

// Attributes that describe one attribute of a policy
// (NL_POLICY_TYPE_ATTR_*, include/uapi/linux/netlink.h).
const (
	ptType           uint16 = 1
	ptMinValueS      uint16 = 2
	ptMaxValueS      uint16 = 3
	ptMinValueU      uint16 = 4
	ptMaxValueU      uint16 = 5
	ptMinLength      uint16 = 6
	ptMaxLength      uint16 = 7
	ptPolicyIdx      uint16 = 8
	ptPolicyMaxType  uint16 = 9
	ptBitfield32Mask uint16 = 10
	ptPad            uint16 = 11
	ptMask           uint16 = 12
)
