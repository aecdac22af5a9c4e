// The ops API with the operator's bearer token (kept in this tab's session storage only).
const KEY = "cjs-exchange-token";

export function token() { return sessionStorage.getItem(KEY); }
export function setToken(value) { sessionStorage.setItem(KEY, value.trim()); }
export function signOut() { sessionStorage.removeItem(KEY); }

export class ApiError extends Error {
  constructor(status, body) {
    super(body && body.message ? body.message : `HTTP ${status}`);
    this.status = status; this.body = body || {};
  }
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== "") q.set(k, v);
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

export async function call(method, path, { params, body, raw } = {}) {
  const headers = { Authorization: `Bearer ${token()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const answer = await fetch(path + query(params), {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (raw && answer.ok) return answer;
  const type = answer.headers.get("content-type") || "";
  const data = type.includes("json") ? await answer.json() : await answer.text();
  if (!answer.ok) throw new ApiError(answer.status, typeof data === "object" ? data : null);
  return data;
}

export const get = (path, params) => call("GET", path, { params });
export const post = (path, body) => call("POST", path, { body });
