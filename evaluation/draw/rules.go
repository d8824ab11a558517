// Package draw is the verifiable expert draw (专家随机抽取) as a pure function: avoidance
// screening with a reason per exclusion, the canonical pool snapshot and its digest, and the
// deterministic pick from seed + snapshot + rules, with replacements that continue the same
// sequence. Nothing here touches a database or a clock, so anyone holding the ledger entries
// and the stored snapshot can re-run a draw and must get the same committee. DRAW.md in the
// parent folder specifies the algorithm byte for byte.
package draw

import (
	"fmt"
	"strings"

	"github.com/kaiping/kaiping"
)

// Version names the algorithm of this package. A draw records it; a different version would
// be a different algorithm with its own name.
const Version = "kaiping-draw/v1"

// Quota is how many experts of one specialty (专业) the committee needs. An expert counts for
// a quota when one of their specialty codes starts with Specialty, so a quota may name a
// category ("A01") or a leaf ("A0101").
type Quota struct {
	Specialty string `json:"specialty"`
	Count     int    `json:"count"`
}

// Rules are what the pick needs besides the seed and the snapshot.
type Rules struct {
	Version string `json:"version"`
	// Experts is how many experts to draw (the committee minus the tenderer's
	// representatives); it equals the sum of the quotas.
	Experts int     `json:"experts"`
	Quotas  []Quota `json:"quotas"`
	// HostCity is the 行政区划代码 of the host site's city (主场所在地).
	HostCity string `json:"host_city"`
	// MinOutside is the fewest experts whose home city is not HostCity (异地专家).
	MinOutside int `json:"min_outside"`
}

func invalid(code, format string, args ...any) error {
	return kaiping.Errorf(kaiping.KindInvalid, code, format, args...)
}

// Validate checks the rules are well formed: the version is this package's, quotas are
// positive, distinct, none a prefix of another (an expert would otherwise count twice), and
// they add up to Experts, which is at least MinOutside.
func (r Rules) Validate() error {
	if r.Version != Version {
		return invalid("draw.version", "抽取算法版本 %q 不受支持（应为 %s）", r.Version, Version)
	}
	if r.Experts < 1 {
		return invalid("draw.experts", "抽取专家人数须为正数")
	}
	if len(r.Quotas) == 0 {
		return invalid("draw.quotas", "须至少指定一个专业及人数")
	}
	sum := 0
	for i, q := range r.Quotas {
		if q.Specialty == "" || q.Count < 1 {
			return invalid("draw.quota", "第 %d 个专业配额须指定专业代码和正数人数", i+1)
		}
		for _, other := range r.Quotas[:i] {
			if strings.HasPrefix(q.Specialty, other.Specialty) || strings.HasPrefix(other.Specialty, q.Specialty) {
				return invalid("draw.quota_overlap", "专业配额 %s 与 %s 相互包含，同一专家会被重复计数", other.Specialty, q.Specialty)
			}
		}
		sum += q.Count
	}
	if sum != r.Experts {
		return invalid("draw.quota_sum", "各专业配额之和为 %d 人，应等于抽取的专家人数 %d 人", sum, r.Experts)
	}
	if r.MinOutside < 0 || r.MinOutside > r.Experts {
		return invalid("draw.min_outside", "异地专家人数须在 0 至 %d 之间", r.Experts)
	}
	if r.MinOutside > 0 && r.HostCity == "" {
		return invalid("draw.host_city", "要求异地专家时须指定主场所在城市")
	}
	return nil
}

// quotaOf returns the index of the first quota in rules order that the specialties match
// and that still has an open seat, or -1.
func (r Rules) quotaOf(specialties []string, open []int) int {
	for qi, q := range r.Quotas {
		if open[qi] > 0 && matches(specialties, q.Specialty) {
			return qi
		}
	}
	return -1
}

// matches reports whether one of specialties starts with prefix.
func matches(specialties []string, prefix string) bool {
	for _, s := range specialties {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// matchesAny reports whether specialties match at least one quota.
func (r Rules) matchesAny(specialties []string) bool {
	for _, q := range r.Quotas {
		if matches(specialties, q.Specialty) {
			return true
		}
	}
	return false
}

func (q Quota) String() string { return fmt.Sprintf("%s×%d", q.Specialty, q.Count) }
