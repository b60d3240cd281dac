package main

import (
	"fmt"
	"runtime/debug"
	"strings"
)

// buildVersion is set at link time: -ldflags "-X main.buildVersion=v1.2.3".
var buildVersion = ""

// version is the one-word version for logs and metrics: the module
// version, or the link-time one, and the short VCS revision.
func version() string {
	info, _ := debug.ReadBuildInfo()
	b := readBuild(info)
	v := b.version
	if b.revision != "" {
		rev := b.revision
		if len(rev) > 12 {
			rev = rev[:12]
		}
		v += " (" + rev + ")"
	}
	return v
}

// build is what the binary knows about how it was made.
type build struct {
	version, revision, time, goVersion string
	modified                           bool
}

func readBuild(info *debug.BuildInfo) build {
	b := build{version: "unknown"}
	if info != nil {
		b.version, b.goVersion = info.Main.Version, info.GoVersion
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				b.revision = s.Value
			case "vcs.time":
				b.time = s.Value
			case "vcs.modified":
				b.modified = s.Value == "true"
			}
		}
	}
	if buildVersion != "" {
		b.version = buildVersion
	}
	if b.version == "" || b.version == "(devel)" {
		b.version = "(devel)"
	}
	return b
}

// versionText is `sectriage version`: the module version, the VCS
// revision and the time of that commit (Go stamps no build time; the
// commit's is what makes a build reproducible), and the Go release.
func versionText(info *debug.BuildInfo) string {
	b := readBuild(info)
	var s strings.Builder
	fmt.Fprintf(&s, "sectriage %s\n", b.version)
	switch {
	case b.revision != "":
		mod := ""
		if b.modified {
			mod = " (with uncommitted changes)"
		}
		fmt.Fprintf(&s, "  revision %s%s\n", b.revision, mod)
		if b.time != "" {
			fmt.Fprintf(&s, "  commit time %s\n", b.time)
		}
	default:
		fmt.Fprintln(&s, "  revision unknown: built without version control information (go build -buildvcs=false, or outside a checkout)")
	}
	if b.goVersion != "" {
		fmt.Fprintf(&s, "  built with %s\n", b.goVersion)
	}
	return s.String()
}
