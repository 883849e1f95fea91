package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nlbus/netlink/genl/genltest"
)

func TestPolicyCommand(t *testing.T) {
	fakeController(t, nil)
	code, out, errOut := run("policy", "nlctrl", "--kernel")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "nul-string max-len 15")

	code, out, errOut = run("policy", "--kernel", "--json", "nlctrl")
	require.Equal(t, 0, code, errOut)
	var p policyJSON
	require.NoError(t, json.Unmarshal([]byte(out), &p))
	assert.Equal(t, "nlctrl", p.Family)
	require.NotEmpty(t, p.Policies)
	assert.Equal(t, "nul-string", p.Policies[0].Attrs[1].Type)

	code, out, errOut = run("policy", "foo", "--kernel")
	assert.Equal(t, 1, code)
	assert.Empty(t, out)
	assert.Equal(t, "nlbus policy: genl: family \"foo\" not found\n", errOut)

	code, _, _ = run("policy", "--kernel")
	assert.Equal(t, 2, code, "usage")
}

func TestPolicyNotSupported(t *testing.T) {
	fakeController(t, &genltest.Config{NoPolicy: true})
	code, _, errOut := run("policy", "nlctrl", "--kernel")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "not supported")
	assert.Equal(t, 1, strings.Count(errOut, "\n"), "one line")
}
