package image

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// accounts are the four account databases of the image's /etc.
type accounts struct {
	passwd, group, shadow, gshadow string
}

// addSystemUser adds a locked system user with its own group, as useradd
// --system would, and makes it a member of the extra groups the image has
// (absent ones are skipped). The id is the highest free below 1000 in both
// passwd and group. An existing user is kept and only joins the groups.
func addSystemUser(a accounts, name, comment, home string, extra []string) (accounts, error) {
	usedUID, usedGID := map[int]bool{}, map[int]bool{}
	userExists, groupExists := false, false
	for _, f := range records(a.passwd) {
		if len(f) >= 4 {
			n, _ := strconv.Atoi(f[2])
			usedUID[n] = true
			userExists = userExists || f[0] == name
		}
	}
	for _, f := range records(a.group) {
		if len(f) >= 3 {
			n, _ := strconv.Atoi(f[2])
			usedGID[n] = true
			groupExists = groupExists || f[0] == name
		}
	}
	if !userExists {
		if groupExists {
			return a, fmt.Errorf("group %s exists without its user: fix the image's /etc/group", name)
		}
		id := 0
		for n := 999; n >= 100; n-- {
			if !usedUID[n] && !usedGID[n] {
				id = n
				break
			}
		}
		if id == 0 {
			return a, fmt.Errorf("no free system uid/gid below 1000 for %s", name)
		}
		a.passwd = appendLine(a.passwd, fmt.Sprintf("%s:x:%d:%d:%s:%s:/usr/sbin/nologin", name, id, id, comment, home))
		a.group = appendLine(a.group, fmt.Sprintf("%s:x:%d:", name, id))
		a.shadow = appendLine(a.shadow, name+":!:::::::")
		a.gshadow = appendLine(a.gshadow, name+":!::")
	}
	a.group = addMember(a.group, 3, name, extra)
	a.gshadow = addMember(a.gshadow, 3, name, extra)
	return a, nil
}

// records splits a colon-separated database into fields per line.
func records(db string) [][]string {
	var out [][]string
	for _, l := range strings.Split(db, "\n") {
		if l != "" {
			out = append(out, strings.Split(l, ":"))
		}
	}
	return out
}

func appendLine(db, line string) string {
	if db != "" && !strings.HasSuffix(db, "\n") {
		db += "\n"
	}
	return db + line + "\n"
}

// addMember adds user to the comma-separated member list in field idx of
// each line whose name is in groups.
func addMember(db string, idx int, user string, groups []string) string {
	lines := strings.Split(db, "\n")
	for i, l := range lines {
		f := strings.Split(l, ":")
		if len(f) <= idx || !slices.Contains(groups, f[0]) {
			continue
		}
		var members []string
		if f[idx] != "" {
			members = strings.Split(f[idx], ",")
		}
		if !slices.Contains(members, user) {
			f[idx] = strings.Join(append(members, user), ",")
			lines[i] = strings.Join(f, ":")
		}
	}
	return strings.Join(lines, "\n")
}

// groupID returns the gid of the named group, or def.
func groupID(group, name string, def int) int {
	for _, f := range records(group) {
		if len(f) >= 3 && f[0] == name {
			if n, err := strconv.Atoi(f[2]); err == nil {
				return n
			}
		}
	}
	return def
}
