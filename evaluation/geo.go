package evaluation

import (
	"cmp"
	"math"
	"slices"
)

// earthRadiusKm is the mean Earth radius.
const earthRadiusKm = 6371.0088

// DistanceKm is the great-circle (haversine) distance between two points in kilometres.
func DistanceKm(lat1, lon1, lat2, lon2 float64) float64 {
	rad := math.Pi / 180
	dLat := (lat2 - lat1) * rad
	dLon := (lon2 - lon1) * rad
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusKm * math.Asin(math.Min(1, math.Sqrt(h)))
}

// rankVenues orders venues by distance from (lat, lon), nearest first, ties by venue code,
// marking the host venue.
func rankVenues(lat, lon float64, venues []Venue, host string) []VenueChoice {
	type ranked struct {
		v VenueChoice
		c string
	}
	rs := make([]ranked, len(venues))
	for i, v := range venues {
		rs[i] = ranked{VenueChoice{Venue: v.ID, DistanceKm: math.Round(DistanceKm(lat, lon, v.Lat, v.Lon)*10) / 10,
			Host: string(v.ID) == host}, v.Code}
	}
	slices.SortFunc(rs, func(a, b ranked) int {
		return cmp.Or(cmp.Compare(a.v.DistanceKm, b.v.DistanceKm), cmp.Compare(a.c, b.c))
	})
	out := make([]VenueChoice, len(rs))
	for i, r := range rs {
		out[i] = r.v
	}
	return out
}
