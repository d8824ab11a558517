package evaluation

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"fmt"
	"strconv"
	"sync"
)

// The catalogs shipped as data: the specialty classification and the cities experts and
// venues live in.
//
// data/specialties.csv is our best realistic approximation of the national 《评标专家专业分类
// 标准（试行）》 (发改法规〔2010〕1538号): a subset of 88 codes in its three-level style — a letter
// for the class (A 工程, B 货物, C 服务, plus D 经济管理 for the commercial reviewers centres
// draw separately), two digits for the category, two more for the specialty. It is not the
// official table; a centre loads its own list by replacing the file.
//
// data/cities.csv lists prefecture-level cities by their 行政区划代码 (GB/T 2260) with the
// approximate coordinates of the city centre, for Henan, Sichuan and Guangdong, the provinces
// of the seed articles.
var (
	//go:embed data/specialties.csv
	specialtiesCSV []byte
	//go:embed data/cities.csv
	citiesCSV []byte
)

// Specialty is one code of the specialty classification (评标专家专业分类).
type Specialty struct {
	Code   string `json:"code"`
	Name   string `json:"name"`
	Level  int    `json:"level"`            // 1 class, 2 category, 3 specialty
	Parent string `json:"parent,omitempty"` // the code one level up
}

// City is a prefecture-level city (地级市) by its division code.
type City struct {
	Code     string  `json:"code"`
	Name     string  `json:"name"`
	Province string  `json:"province"`
	Lat      float64 `json:"lat"`
	Lon      float64 `json:"lon"`
}

type catalog struct {
	specialties []Specialty
	specialty   map[string]Specialty
	cities      []City
	city        map[string]City
}

var loadCatalog = sync.OnceValue(func() catalog {
	c := catalog{specialty: map[string]Specialty{}, city: map[string]City{}}
	for _, r := range mustRecords(specialtiesCSV, 2) {
		s := Specialty{Code: r[0], Name: r[1]}
		switch len(s.Code) {
		case 1:
			s.Level = 1
		case 3:
			s.Level, s.Parent = 2, s.Code[:1]
		case 5:
			s.Level, s.Parent = 3, s.Code[:3]
		default:
			panic("evaluation: bad specialty code " + s.Code)
		}
		if _, ok := c.specialty[s.Parent]; s.Parent != "" && !ok {
			panic("evaluation: specialty " + s.Code + " before its parent")
		}
		c.specialties = append(c.specialties, s)
		c.specialty[s.Code] = s
	}
	for _, r := range mustRecords(citiesCSV, 5) {
		lat, err1 := strconv.ParseFloat(r[3], 64)
		lon, err2 := strconv.ParseFloat(r[4], 64)
		if err1 != nil || err2 != nil || !cityCodePattern.MatchString(r[0]) {
			panic("evaluation: bad city row " + r[0])
		}
		city := City{Code: r[0], Name: r[1], Province: r[2], Lat: lat, Lon: lon}
		c.cities = append(c.cities, city)
		c.city[city.Code] = city
	}
	return c
})

// mustRecords parses embedded CSV with a header row; the data ships with the binary, so a
// malformed file is a build mistake and panics.
func mustRecords(data []byte, fields int) [][]string {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = fields
	rows, err := r.ReadAll()
	if err != nil {
		panic(fmt.Sprintf("evaluation: embedded catalog: %v", err))
	}
	return rows[1:]
}

// Specialties lists the specialty classification in code order.
func Specialties() []Specialty { return loadCatalog().specialties }

// SpecialtyByCode returns the specialty with code.
func SpecialtyByCode(code string) (Specialty, bool) {
	s, ok := loadCatalog().specialty[code]
	return s, ok
}

// Cities lists the known cities in code order.
func Cities() []City { return loadCatalog().cities }

// CityByCode returns the city with the division code.
func CityByCode(code string) (City, bool) {
	c, ok := loadCatalog().city[code]
	return c, ok
}
