// CORS for the worker's browser-facing routes (OFREP, /healthz), so browser OFREP
// clients such as @openfeature/ofrep-web-provider can call the edge from a page on
// another origin. The routing example is the application itself and gets none.
//
// CORS_ORIGINS is `*` (the default: OFREP authenticates with a key in a header, never
// a cookie, so any page may call it) or a comma-separated list of origins
// (`https://app.example.com,https://admin.example.com`), which are then echoed back
// with `Vary: Origin`.

/** Request headers browsers may send (beyond the CORS-safelisted ones). */
export const ALLOWED_HEADERS = "Authorization, X-API-Key, Content-Type, If-None-Match";
/** Response headers scripts may read. */
export const EXPOSED_HEADERS = "ETag, Retry-After";
/** How long a browser may cache a preflight (Chromium caps this at two hours). */
export const MAX_AGE_SECONDS = 7200;

/**
 * Parses CORS_ORIGINS: `"*"`, or a list of origins (`scheme://host[:port]`, no path).
 * Throws an Error naming the bad entry.
 */
export function parseCorsOrigins(value) {
  const text = value === undefined || value === null ? "*" : String(value).trim();
  if (text === "" || text === "*") return "*";
  const origins = text
    .split(",")
    .map((o) => o.trim())
    .filter(Boolean);
  for (const origin of origins) {
    let url;
    try {
      url = new URL(origin);
    } catch {
      url = null;
    }
    if (!url || !/^https?:$/.test(url.protocol) || url.origin !== origin.replace(/\/$/, "")) {
      throw new Error(`CORS_ORIGINS entry ${JSON.stringify(origin)} is not an origin such as https://app.example.com (scheme, host, optional port; no path)`);
    }
  }
  return origins.map((o) => o.replace(/\/$/, ""));
}

/** The Access-Control-Allow-Origin value for a request's Origin, or null if not allowed. */
function allowedOrigin(allowed, origin) {
  if (!origin) return null;
  if (allowed === "*") return "*";
  return allowed.includes(origin) ? origin : null;
}

/** Whether a request is a CORS preflight. */
export function isPreflight(request) {
  return request.method === "OPTIONS" && request.headers.has("origin") && request.headers.has("access-control-request-method");
}

/**
 * The answer to a preflight: 204 with the allowed methods, headers and max age when
 * the origin is allowed; a bare 204 (which the browser treats as a refusal) when not.
 */
export function preflight(request, allowed, methods) {
  const headers = new Headers({ vary: "Origin" });
  const origin = allowedOrigin(allowed, request.headers.get("origin"));
  if (origin) {
    headers.set("access-control-allow-origin", origin);
    headers.set("access-control-allow-methods", methods);
    headers.set("access-control-allow-headers", ALLOWED_HEADERS);
    headers.set("access-control-max-age", String(MAX_AGE_SECONDS));
  }
  return new Response(null, { status: 204, headers });
}

/** `response` with the CORS headers a request from an allowed origin needs. */
export function withCors(request, response, allowed) {
  const origin = allowedOrigin(allowed, request.headers.get("origin"));
  const out = new Response(response.body, response);
  if (allowed !== "*") out.headers.append("vary", "Origin");
  if (origin) {
    out.headers.set("access-control-allow-origin", origin);
    out.headers.set("access-control-expose-headers", EXPOSED_HEADERS);
  }
  return out;
}
