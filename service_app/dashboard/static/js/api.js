// The API client: bearer tokens, one refresh on 401, the API's error shape as an exception.
//
// Where the tokens live: the access token (15 minutes) only in this module's memory, so no other
// script, tab or later visitor can read it from storage; the refresh token in sessionStorage, so a
// reload of this tab keeps the session, while closing the tab ends it. Never localStorage (shared
// by every tab and kept after the browser closes). The refresh token is rotated on every use.
import { LANG, t } from "./i18n.js";

const BASE = "/api/v1";
const REFRESH_KEY = "lianqi.dashboard.refresh";

let accessToken = null;
let refreshing = null;

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

// The session is over (refresh token missing, expired or revoked): the page returns to the login form.
export class SessionEnded extends Error {}

function headers(token, extra = {}) {
  const result = { Accept: "application/json", "Accept-Language": LANG === "en" ? "en" : "zh-CN", ...extra };
  if (token) result.Authorization = `Bearer ${token}`;
  return result;
}

async function errorOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  let message = body && body.message ? body.message : `${response.status} ${response.statusText}`;
  if (body && body.errors && typeof body.errors === "object") {
    // A 422 names each bad field: show what the API said about them.
    const details = Object.entries(body.errors).map(([field, problems]) => `${field}: ${[problems].flat().join(" ")}`);
    if (details.length) message = `${message}（${details.join("；")}）`;
  }
  return new ApiError(response.status, message, body);
}

async function send(path, { method = "GET", body, token } = {}) {
  const options = { method, headers: headers(token), credentials: "omit", cache: "no-store" };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  try {
    return await fetch(BASE + path, options);
  } catch {
    throw new ApiError(0, t("networkError"), null);
  }
}

function keep(tokens) {
  accessToken = tokens.access_token;
  sessionStorage.setItem(REFRESH_KEY, tokens.refresh_token);
}

export function hasSession() {
  return accessToken !== null || sessionStorage.getItem(REFRESH_KEY) !== null;
}

export function forget() {
  accessToken = null;
  sessionStorage.removeItem(REFRESH_KEY);
}

export async function login(username, password) {
  const response = await send("/auth/login", { method: "POST", body: { username, password } });
  if (!response.ok) throw await errorOf(response);
  const tokens = await response.json();
  keep(tokens);
  return tokens.user;
}

async function refreshTokens() {
  const token = sessionStorage.getItem(REFRESH_KEY);
  if (!token) throw new SessionEnded();
  const response = await send("/auth/refresh", { method: "POST", token });
  if (response.status === 401 || response.status === 422) {
    forget();
    throw new SessionEnded();
  }
  if (!response.ok) throw await errorOf(response);
  keep(await response.json());
}

// Several requests that meet an expired token at once share one refresh (the refresh token rotates).
function refreshOnce() {
  if (!refreshing) {
    refreshing = refreshTokens().finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

async function authorised(path, options = {}) {
  if (accessToken === null) await refreshOnce();
  let response = await send(path, { ...options, token: accessToken });
  if (response.status === 401) {
    await refreshOnce();
    response = await send(path, { ...options, token: accessToken });
    if (response.status === 401) {
      forget();
      throw new SessionEnded();
    }
  }
  if (!response.ok) throw await errorOf(response);
  return response;
}

export async function get(path, params = {}) {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== "" && v !== null && v !== undefined));
  const response = await authorised(query.size ? `${path}?${query}` : path);
  return response.json();
}

export async function post(path, body) {
  const response = await authorised(path, { method: "POST", body });
  return response.status === 204 ? null : response.json();
}

// A file from an authenticated endpoint: fetched with the bearer token, saved from a blob URL.
export async function download(path, params) {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== "" && v !== null));
  const response = await authorised(`${path}?${query}`);
  const blob = await response.blob();
  const disposition = response.headers.get("Content-Disposition") || "";
  const match = /filename="([^"]+)"/.exec(disposition);
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = match ? match[1] : "export";
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export async function logout() {
  try {
    if (accessToken) await send("/auth/logout", { method: "POST", token: accessToken });
  } finally {
    forget();
  }
}
