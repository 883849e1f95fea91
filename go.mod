module github.com/nlbus/netlink

go 1.26
