package sso

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/keystore"
)

// Routes adds the sign-in routes to mux:
// GET /auth/login starts a sign-in at the provider, GET /auth/callback ends
// it, POST /auth/logout ends the session, GET /auth/session describes it.
func (s *SSO) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /auth/login", s.login)
	mux.HandleFunc("GET /auth/callback", s.callback)
	mux.HandleFunc("POST /auth/logout", s.logout)
	mux.HandleFunc("GET /auth/session", s.info)
}

func (s *SSO) login(w http.ResponseWriter, r *http.Request) {
	_, conf, err := s.oauth()
	if err != nil {
		s.log.WarnContext(r.Context(), "console sign-in", "error", err)
		page(w, http.StatusBadGateway, "The identity provider cannot be reached", "Try again in a moment; if it persists, tell the console's operator.")
		return
	}
	p := pending{State: random(), Verifier: oauth2.GenerateVerifier(), Nonce: random(), Expires: s.now().Add(loginTTL)}
	http.SetCookie(w, s.cookie(loginCookie, s.sealer.seal(p), loginTTL))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, conf.AuthCodeURL(p.State, oauth2.S256ChallengeOption(p.Verifier), oidc.Nonce(p.Nonce)), http.StatusFound)
}

// callback checks the state against this browser's login cookie, redeems
// the code with the PKCE verifier, verifies the ID token and its nonce,
// maps the claims to a grant and opens the session.
func (s *SSO) callback(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	http.SetCookie(w, s.cookie(loginCookie, "", -1)) // a sign-in is answered once
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		page(w, http.StatusForbidden, "The identity provider did not sign you in", "It answered "+clip(e)+": "+clip(q.Get("error_description"))+".")
		return
	}
	c, err := r.Cookie(s.cookieName(loginCookie))
	var p pending
	if err == nil {
		p, err = s.sealer.open(c.Value, s.now())
	}
	if err != nil || subtle.ConstantTimeCompare([]byte(p.State), []byte(q.Get("state"))) != 1 {
		page(w, http.StatusBadRequest, "This sign-in was not started here", "Its state does not match a sign-in under way in this browser. Start again from the console.")
		return
	}
	claims, err := s.redeem(r, q.Get("code"), p)
	if err != nil {
		s.log.WarnContext(r.Context(), "console sign-in refused", "error", err)
		page(w, http.StatusForbidden, "The sign-in could not be verified", "The identity provider's answer did not check out. Start again from the console.")
		return
	}
	grant, refusal := mapClaims(claims, s.cfg.OrgClaim, s.cfg.RoleClaim, s.grants, s.api)
	if refusal != "" {
		s.log.InfoContext(r.Context(), "console sign-in refused", "subject", claims.subject(), "reason", refusal)
		page(w, http.StatusForbidden, "You may not use this console", "You are signed in at your identity provider as "+clip(claims.name())+", but "+refusal+
			". Ask your licence office to grant you a role in tokenmeter.")
		return
	}
	id, err := s.open(r.Context(), claims, grant)
	switch {
	case errors.Is(err, errPerson):
		page(w, http.StatusForbidden, "You may not use this console", "Your identity provider sent no usable e-mail address or subject (at most "+strconv.Itoa(MaxPersonID)+" bytes).")
		return
	case errors.Is(err, errRevoked):
		page(w, http.StatusForbidden, "You may not use this console", "Your role was revoked as you signed in. Ask your licence office.")
		return
	case errors.Is(err, errFull):
		page(w, http.StatusServiceUnavailable, "The console is full", "It holds as many sessions as it may. Try again later.")
		return
	case err != nil:
		s.log.ErrorContext(r.Context(), "console session key", "error", err)
		page(w, http.StatusServiceUnavailable, "Your session could not be opened", "The console could not store its key. Try again in a moment.")
		return
	}
	http.SetCookie(w, s.cookie(sessionCookie, id, s.cfg.Lifetime))
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// redeem exchanges the code (with the verifier) and returns the verified
// ID token's claims.
func (s *SSO) redeem(r *http.Request, code string, p pending) (claims, error) {
	provider, conf, err := s.oauth()
	if err != nil {
		return nil, err
	}
	ctx := oidc.ClientContext(r.Context(), s.client)
	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(p.Verifier))
	if err != nil {
		return nil, err
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok {
		return nil, errors.New("the token answer has no id_token")
	}
	idt, err := provider.VerifierContext(s.base, &oidc.Config{ClientID: s.cfg.ClientID, Now: s.now}).Verify(ctx, raw)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(p.Nonce)) != 1 {
		return nil, errors.New("the ID token's nonce is not this sign-in's")
	}
	var c claims
	if err := idt.Claims(&c); err != nil {
		return nil, err
	}
	return c, nil
}

var errPerson = errors.New("the ID token names no person the console can act as")

// open makes the session's own key (naming the person as the organisation
// shows its people, holding the grant's role, expiring with the session)
// and the session; it returns the session cookie's value.
func (s *SSO) open(ctx context.Context, c claims, g Grant) (string, error) {
	id := c.personID()
	if id == "" || len(id) > MaxPersonID {
		return "", errPerson
	}
	now := s.now()
	expires := now.Add(s.cfg.Lifetime).UTC()
	person := auth.PersonPrefix + s.people(g.Org)(id)
	secret, rec, err := s.keys.Create(ctx, keystore.Record{Org: g.Org, Team: g.Team, Role: string(g.Role),
		Label: "console session", CreatedBy: "console", Person: person, ExpiresAt: &expires}, now)
	if err != nil {
		return "", err
	}
	s.await(ctx, secret)
	sess := Session{Subject: c.subject(), Name: c.name(), Person: person, Grant: g, Expires: expires, key: secret, keyID: rec.KeyID}
	cookie, ended, err := s.sessions.add(sess)
	if ended != nil {
		s.revoke(ctx, *ended)
	}
	if err == nil && g.ID != "" && !s.api.IsLive(g.Org, g.ID) {
		// Revoked while the session opened: endGrant may have looked before it was added.
		s.sessions.remove(cookie)
		err = errRevoked
	}
	if err != nil {
		s.revoke(ctx, sess)
	}
	return cookie, err
}

var errRevoked = errors.New("the role grant was revoked as the session opened")

// revoke revokes a session's key at every service. On failure the key still
// expires with the session, and nobody holds it: it never left the server.
func (s *SSO) revoke(ctx context.Context, sess Session) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), providerTimeout)
	defer cancel()
	if _, err := s.keys.Revoke(ctx, sess.Grant.Org, sess.keyID, s.now()); err != nil {
		s.log.WarnContext(ctx, "console session key not revoked; it expires with the session", "key_id", sess.keyID, "error", err)
	}
}

// logout ends the session and revokes its key (the CSRF token proves the console asked).
func (s *SSO) logout(w http.ResponseWriter, r *http.Request) {
	sess, id, ok := s.Session(r)
	if ok && subtle.ConstantTimeCompare([]byte(r.Header.Get(CSRFHeader)), []byte(sess.CSRF)) != 1 {
		http.Error(w, "missing or wrong "+CSRFHeader, http.StatusForbidden)
		return
	}
	if ended, ok := s.sessions.remove(id); ok {
		s.revoke(r.Context(), ended)
	}
	http.SetCookie(w, s.cookie(sessionCookie, "", -1))
	w.WriteHeader(http.StatusNoContent)
}

// info tells the page whether it is signed in, as whom, and its CSRF token
// (readable by this origin only: the console sends no CORS headers).
func (s *SSO) info(w http.ResponseWriter, r *http.Request) {
	out := map[string]any{"sso": true, "signed_in": false}
	if sess, _, ok := s.Session(r); ok {
		out = map[string]any{"sso": true, "signed_in": true, "name": sess.Name, "org": sess.Grant.Org,
			"role": sess.Grant.Role, "team": sess.Grant.Team, "person": sess.Person, "csrf": sess.CSRF,
			"expires": sess.Expires.UTC().Format(time.RFC3339)}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(out)
}
