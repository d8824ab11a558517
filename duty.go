package kaiping

import "time"

// Duty is the work a staff member is assigned to do on one tender (岗位). A role says what
// kind of work a principal may do at all; a duty says on which tender. Hosts, supervisors
// and evaluation hosts act only on the tenders an administrator assigned them to, so a host
// with nothing to do with a tender can neither run nor sabotage its opening.
type Duty string

// The duties of a tender's staff.
const (
	// DutyHost runs the opening hall (开标主持人): agency or centre staff holding RoleHost.
	DutyHost Duty = "host"
	// DutySupervisor watches the opening and the evaluation, co-signs the irreversible
	// steps the tender names and holds a rescue-key share (监督人员): RoleSupervisor.
	DutySupervisor Duty = "supervisor"
	// DutyEvaluationHost organises the evaluation: draws the committee, dispatches seats,
	// publishes the committee after the result (评标组织): RoleHost.
	DutyEvaluationHost Duty = "evaluation_host"
)

// Duties lists every duty, in a stable order.
var Duties = []Duty{DutyHost, DutySupervisor, DutyEvaluationHost}

// Valid reports whether d is one of Duties.
func (d Duty) Valid() bool { return d.Role() != "" }

// Role is the role a principal must hold to be assigned d ("" for an unknown duty).
func (d Duty) Role() Role {
	switch d {
	case DutyHost, DutyEvaluationHost:
		return RoleHost
	case DutySupervisor:
		return RoleSupervisor
	}
	return ""
}

// Label is the Simplified Chinese name of the duty.
func (d Duty) Label() string {
	switch d {
	case DutyHost:
		return "开标主持人"
	case DutySupervisor:
		return "监督人员"
	case DutyEvaluationHost:
		return "评标组织人员"
	}
	return string(d)
}

// Assignment is an administrator's decision that a principal does a duty on a tender
// (项目人员指派). It is ledgered when made and when revoked; a revoked assignment is kept.
type Assignment struct {
	ID        ID         `json:"id"`
	Tender    ID         `json:"tender_id"`
	Principal ID         `json:"principal_id"`
	Name      string     `json:"name,omitempty"` // the principal's name, for pages
	Duty      Duty       `json:"duty"`
	By        ID         `json:"assigned_by"`
	At        time.Time  `json:"assigned_at"`
	RevokedBy ID         `json:"revoked_by,omitempty"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}
