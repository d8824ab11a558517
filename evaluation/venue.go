package evaluation

import (
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/kaiping/kaiping"
)

// Venue is an evaluation site (评标场地) of the shared seat directory (工位共享资源目录).
//
// Venue codes follow the provincial rule this system adopts for its directory:
// "<city>-<nnn>", the six-digit 行政区划代码 of the venue's city and a three-digit sequence
// number within that city, e.g. 410200-001 for the first site in 开封市. The city part must
// be the venue's city, so the code alone says where a seat is, and codes sort by city.
type Venue struct {
	ID      kaiping.ID `json:"id"`
	Code    string     `json:"code"`
	Name    string     `json:"name"`
	City    string     `json:"city"`
	Address string     `json:"address"`
	Lat     float64    `json:"lat"`
	Lon     float64    `json:"lon"`
	// CanHost says whether the venue can be the host site (主场) of a remote evaluation:
	// it has the host console, the supervision room and the archive link.
	CanHost   bool      `json:"can_host"`
	CreatedAt time.Time `json:"created_at"`
}

var venueCodePattern = regexp.MustCompile(`^([1-8][0-9]{5})-([0-9]{3})$`)

// Validate checks a venue as an admin entered it.
func (v *Venue) Validate() error {
	v.Code = strings.TrimSpace(v.Code)
	v.Name = strings.TrimSpace(v.Name)
	v.City = strings.TrimSpace(v.City)
	v.Address = strings.TrimSpace(v.Address)
	m := venueCodePattern.FindStringSubmatch(v.Code)
	switch {
	case m == nil || m[2] == "000":
		return invalid("venue.code", "场地编码须为“城市行政区划代码-三位序号”，如 410200-001")
	case m[1] != v.City:
		return invalid("venue.code_city", "场地编码 %s 的城市部分与所在城市 %s 不一致", v.Code, v.City)
	case v.Name == "" || runes(v.Name) > maxOrgRunes:
		return invalid("venue.name", "场地名称不能为空，且不超过 %d 字", maxOrgRunes)
	case v.Address == "" || runes(v.Address) > maxOrgRunes:
		return invalid("venue.address", "地址不能为空，且不超过 %d 字", maxOrgRunes)
	}
	if _, ok := CityByCode(v.City); !ok {
		return invalid("venue.city", "城市代码 %q 不在城市目录中", v.City)
	}
	if !inChina(v.Lat, v.Lon) {
		return invalid("venue.coordinates", "须给出场地坐标（纬度 %.4f，经度 %.4f 不在中国境内）", v.Lat, v.Lon)
	}
	return nil
}

// SeatStatus is whether a seat can be booked.
type SeatStatus string

// The seat statuses.
const (
	SeatAvailable   SeatStatus = "available"   // 可用
	SeatMaintenance SeatStatus = "maintenance" // 维护中
	SeatRetired     SeatStatus = "retired"     // 停用
)

// Equipment a seat can have, with the names venue staff know them by.
var Equipment = map[string]string{
	"camera":        "高清摄像头",
	"microphone":    "拾音器",
	"dual_screen":   "双显示屏",
	"id_reader":     "身份证阅读器",
	"fingerprint":   "指纹识别仪",
	"signature_pad": "电子签名板",
	"printer":       "打印机",
	"voice_changer": "变声答疑终端",
}

// Seat is one evaluation seat (评标工位) of a venue.
type Seat struct {
	ID        kaiping.ID `json:"id"`
	Venue     kaiping.ID `json:"venue_id"`
	Code      string     `json:"code"` // unique within the venue: A01, B12
	Equipment []string   `json:"equipment"`
	Status    SeatStatus `json:"status"`
	CreatedAt time.Time  `json:"created_at"`
}

var seatCodePattern = regexp.MustCompile(`^[A-Z][0-9]{2,3}$`)

// Validate checks a seat and fills its default status.
func (s *Seat) Validate() error {
	s.Code = strings.ToUpper(strings.TrimSpace(s.Code))
	if !seatCodePattern.MatchString(s.Code) {
		return invalid("seat.code", "工位编号须为一个大写字母加两到三位数字，如 A01")
	}
	for _, e := range s.Equipment {
		if _, ok := Equipment[e]; !ok {
			return invalid("seat.equipment", "未知的设备类型 %q", e)
		}
	}
	slices.Sort(s.Equipment)
	s.Equipment = slices.Compact(s.Equipment)
	if s.Equipment == nil {
		s.Equipment = []string{}
	}
	switch s.Status {
	case "":
		s.Status = SeatAvailable
	case SeatAvailable, SeatMaintenance, SeatRetired:
	default:
		return invalid("seat.status", "工位状态只能是 available、maintenance 或 retired")
	}
	return nil
}

// Booking reserves a seat for a time range [Start, End).
type Booking struct {
	ID      kaiping.ID `json:"id"`
	Seat    kaiping.ID `json:"seat_id"`
	Start   time.Time  `json:"start"`
	End     time.Time  `json:"end"`
	Purpose string     `json:"purpose"`
	// Draw and Expert are set for a seat dispatched to a drawn expert.
	Draw      kaiping.ID `json:"draw_id,omitempty"`
	Expert    kaiping.ID `json:"expert_id,omitempty"`
	CreatedBy kaiping.ID `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
}

// maxBooking bounds one booking: evaluations run for days at most.
const maxBooking = 7 * 24 * time.Hour

// Validate checks a booking requested at now.
func (b *Booking) Validate(now time.Time) error {
	b.Purpose = strings.TrimSpace(b.Purpose)
	switch {
	case b.Start.IsZero() || b.End.IsZero() || !b.Start.Before(b.End):
		return invalid("booking.period", "须给出开始和结束时间，且开始早于结束")
	case !b.End.After(now):
		return invalid("booking.past", "不能预订已经过去的时段")
	case b.End.Sub(b.Start) > maxBooking:
		return invalid("booking.too_long", "单次预订不超过 7 天")
	case b.Purpose == "" || runes(b.Purpose) > maxOrgRunes:
		return invalid("booking.purpose", "须写明用途（不超过 %d 字）", maxOrgRunes)
	}
	return nil
}

// DayBooking is a booking as venue staff see it for their day: which seat, when, and who
// is coming (the expert's name, which they check against the ID card at the seat).
type DayBooking struct {
	Booking
	Venue      kaiping.ID `json:"venue_id"`
	VenueCode  string     `json:"venue_code"`
	SeatCode   string     `json:"seat_code"`
	ExpertName string     `json:"expert_name,omitempty"`
	ExpertCode string     `json:"expert_code,omitempty"`
}

// DayRange returns [start, end) of the day (YYYY-MM-DD, Beijing time) or, for "", of the
// day containing now.
func DayRange(day string, now time.Time) (time.Time, time.Time, error) {
	var start time.Time
	if day == "" {
		y, m, d := now.In(kaiping.BeijingTime).Date()
		start = time.Date(y, m, d, 0, 0, 0, 0, kaiping.BeijingTime)
	} else {
		t, err := time.ParseInLocation(time.DateOnly, day, kaiping.BeijingTime)
		if err != nil {
			return time.Time{}, time.Time{}, invalid("booking.date", "日期格式须为 YYYY-MM-DD")
		}
		start = t
	}
	return start, start.AddDate(0, 0, 1), nil
}
