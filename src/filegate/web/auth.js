// Who this page acts as: a guest session it opens itself, a user token (?token=), or an
// upload grant from another device (?grant=). The token lives in sessionStorage (this tab
// only) and leaves the address bar at once, so it is not bookmarked or shared by accident.

import { Api } from "./api.js";

const KEY = "filegate.auth";

/** `{mode: "guest" | "user" | "grant", token, expiresAt}` for this tab, opening a guest
 * session when there is nothing else. */
export async function resolveAuth() {
  const fromUrl = takeFromUrl();
  if (fromUrl) return remember(fromUrl);
  const kept = recall();
  if (kept && (kept.mode !== "guest" || Date.parse(kept.expiresAt) > Date.now())) return kept;
  return openGuestSession();
}

/** A new guest session (also after the last one ended). */
export async function openGuestSession() {
  const opened = await Api.openSession();
  return remember({ mode: "guest", token: opened.token, expiresAt: opened.session.expires_at });
}

/** Forget the token of this tab (e.g. once the server no longer accepts it). */
export function forget() {
  sessionStorage.removeItem(KEY);
}

function takeFromUrl() {
  const params = new URLSearchParams(location.search);
  const grant = params.get("grant");
  const token = params.get("token");
  if (!grant && !token) return null;
  history.replaceState(null, "", location.pathname);
  if (grant) return { mode: "grant", token: grant, expiresAt: null };
  return { mode: "user", token, expiresAt: null };
}

function remember(auth) {
  sessionStorage.setItem(KEY, JSON.stringify(auth));
  return auth;
}

function recall() {
  try {
    const kept = JSON.parse(sessionStorage.getItem(KEY));
    return kept?.token ? { ...kept, recalled: true } : null;
  } catch {
    return null;
  }
}
