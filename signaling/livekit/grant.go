package livekit

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/livekit/protocol/auth"
	lkp "github.com/livekit/protocol/livekit"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/signaling"
)

// AttrSubscribeOnly is the participant attribute, set in the grant token, that lists (as a
// JSON array) the only identities whose tracks the participant may receive. LiveKit knows no
// such restriction, so the backend enforces it itself (enforce.go); the attribute is how it
// learns the restriction from LiveKit's participant list, whichever kaiping replica issued
// the grant. Participants cannot change it: grants never allow updating their own metadata.
const AttrSubscribeOnly = "kaiping.subscribe_only"

// tokenClaims is LiveKit's access token: registered JWT claims plus its grants.
type tokenClaims struct {
	jwt.RegisteredClaims
	auth.ClaimGrants
}

// Grant implements signaling.Media: a LiveKit access token (HS256 JWT signed with the API
// secret) whose VideoGrant allows joining room and exactly what perms allow.
func (c *Client) Grant(ctx context.Context, room string, who kaiping.Principal, perms signaling.Permissions) (signaling.Grant, error) {
	if err := signaling.ValidRoomName(room); err != nil {
		return signaling.Grant{}, err
	}
	identity := string(who.ID)
	if err := signaling.ValidIdentity(identity); err != nil {
		return signaling.Grant{}, err
	}
	if err := perms.Validate(); err != nil {
		return signaling.Grant{}, err
	}
	if err := c.roomExists(ctx, room); err != nil {
		return signaling.Grant{}, err
	}
	now := c.clock.Now()
	exp := now.Add(c.cfg.GrantTTL).Truncate(time.Second)
	token, err := c.sign(now, exp, room, identity, who.Name, perms)
	if err != nil {
		return signaling.Grant{}, kaiping.Internal("livekit.Grant", err)
	}
	if len(perms.Subscribe.Only) > 0 {
		c.enforcer.watch(room)
	}
	return signaling.Grant{
		Backend: Backend, URL: c.cfg.URL, Token: token, Room: room, Identity: identity,
		Permissions: perms, Expires: exp,
	}, nil
}

// sign builds the token. Its times come from the injected clock, not from the SDK's
// time.Now, and its expiry claim sits grantLeeway before exp because LiveKit still accepts a
// token that long after the claim.
func (c *Client) sign(now, exp time.Time, room, identity, name string, perms signaling.Permissions) (string, error) {
	claims := tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    c.cfg.APIKey,
			Subject:   identity,
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp.Add(-grantLeeway)),
		},
		ClaimGrants: auth.ClaimGrants{Identity: identity, Name: name, Video: videoGrant(room, perms)},
	}
	if only := perms.Subscribe.Only; len(only) > 0 {
		b, err := json.Marshal(only)
		if err != nil {
			return "", err
		}
		claims.Attributes = map[string]string{AttrSubscribeOnly: string(b)}
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(c.cfg.APISecret))
}

// videoGrant is what perms allow in LiveKit's terms. Every permission is set explicitly,
// because LiveKit allows everything a grant leaves unset.
func videoGrant(room string, perms signaling.Permissions) *auth.VideoGrant {
	g := &auth.VideoGrant{RoomJoin: true, Room: room, Hidden: perms.Hidden}
	var sources []lkp.TrackSource
	if perms.PublishAudio {
		sources = append(sources, lkp.TrackSource_MICROPHONE)
	}
	if perms.PublishVideo {
		sources = append(sources, lkp.TrackSource_CAMERA)
	}
	g.SetCanPublish(len(sources) > 0)
	if len(sources) > 0 {
		// An empty list would allow every source, screen sharing included.
		g.SetCanPublishSources(sources)
	}
	g.SetCanPublishData(perms.Data)
	g.SetCanSubscribe(perms.Subscribe.All || len(perms.Subscribe.Only) > 0)
	g.SetCanUpdateOwnMetadata(false)
	return g
}

// permissionsOf reads back the permissions of a participant from what LiveKit reports.
func permissionsOf(pp *lkp.ParticipantPermission, attrs map[string]string) signaling.Permissions {
	if pp == nil {
		return signaling.Permissions{}
	}
	may := func(s lkp.TrackSource) bool {
		return pp.CanPublish && (len(pp.CanPublishSources) == 0 || slices.Contains(pp.CanPublishSources, s))
	}
	p := signaling.Permissions{
		PublishAudio: may(lkp.TrackSource_MICROPHONE),
		PublishVideo: may(lkp.TrackSource_CAMERA),
		Hidden:       pp.Hidden,
		Data:         pp.CanPublishData,
	}
	if pp.CanSubscribe {
		if only, ok := subscribeOnly(attrs); ok {
			p.Subscribe.Only = only
		} else {
			p.Subscribe.All = true
		}
	}
	return p
}

// subscribeOnly decodes AttrSubscribeOnly; ok is false when the participant is unrestricted.
func subscribeOnly(attrs map[string]string) (only []string, ok bool) {
	v, found := attrs[AttrSubscribeOnly]
	if !found {
		return nil, false
	}
	// A malformed value restricts to nobody rather than to everybody.
	if err := json.Unmarshal([]byte(v), &only); err != nil {
		return []string{}, true
	}
	return only, true
}
