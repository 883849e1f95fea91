package compat

// probe uses Linux AF_NETLINK (16).
func probe() Report {
	return hostProbe(sysProbeOps{family: AFNetlinkLinux})
}
