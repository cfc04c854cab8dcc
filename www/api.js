import { readEvents } from "/pkg/events.js";

// The origin's API from the console: the token lives in sessionStorage (never in a
// URL), and every error arrives as {status, code, message, details}.
const TOKEN = "vexil.token";

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN);
  },
  set(token) {
    sessionStorage.setItem(TOKEN, token);
  },
  clear() {
    sessionStorage.removeItem(TOKEN);
  },
};

export class ApiError extends Error {
  constructor(status, body) {
    const error = body?.error ?? {};
    super(error.message ?? `the origin answered HTTP ${status}`);
    this.status = status;
    this.code = error.code ?? "http_error";
    this.details = error.details ?? [];
    this.body = body;
  }
}

export async function api(method, path, body) {
  const headers = { "content-type": "application/json" };
  if (session.token) headers.authorization = `Bearer ${session.token}`;
  let response;
  try {
    response = await fetch(`/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, { error: { code: "unreachable", message: `cannot reach the origin: ${e.message}` } });
  }
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = { error: { message: text } };
  }
  if (!response.ok) throw new ApiError(response.status, json);
  return json;
}

/** Raw text of a route (a snapshot envelope), with the session's token. */
export async function fetchText(path) {
  const response = await fetch(`/api/v1${path}`, { headers: { authorization: `Bearer ${session.token}` } });
  const text = await response.text();
  if (!response.ok) throw new ApiError(response.status, JSON.parse(text || "{}"));
  return text;
}

/**
 * Follows an environment's server-sent events (`snapshot`, `kill`) with the token in
 * the Authorization header (EventSource cannot send one). Returns a stop function.
 */
export function follow(env, onEvent) {
  const controller = new AbortController();
  let backoff = 1000;
  const connect = async () => {
    try {
      const response = await fetch(`/api/v1/environments/${encodeURIComponent(env)}/events`, {
        headers: { authorization: `Bearer ${session.token}`, accept: "text/event-stream" },
        signal: controller.signal,
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      backoff = 1000;
      await readEvents(response, onEvent);
    } catch {
      if (controller.signal.aborted) return;
    }
    if (!controller.signal.aborted) {
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 30_000);
    }
  };
  connect();
  return () => controller.abort();
}
