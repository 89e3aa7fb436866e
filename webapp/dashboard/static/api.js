// The dashboard's one way to the JSON API. Keys live in this tab's sessionStorage and travel only as the
// X-API-Key header, never in a URL: the read key for reads, the admin key for changes (and for reads
// when no read key was given, since an admin key is good for every scope).

export const READ_KEY = "router.readKey";
export const ADMIN_KEY = "router.adminKey";

export class NeedsKey extends Error {}

// A change the API refused: `message` is the API's own error message.
export class Refused extends Error {
  constructor(status, message, details) {
    super(message);
    this.status = status;
    this.details = details;
  }
}

function keyHeader(key) {
  return key ? { "X-API-Key": key } : {};
}

export function adminKey() {
  return sessionStorage.getItem(ADMIN_KEY);
}

async function read(path) {
  const key = sessionStorage.getItem(READ_KEY) || adminKey();
  const response = await fetch(path, { headers: keyHeader(key), cache: "no-store" });
  if (response.status === 401 || response.status === 403) throw new NeedsKey(path);
  return response;
}

export async function api(path, { allow404 = false } = {}) {
  const response = await read(path);
  if (allow404 && response.status === 404) return null;
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

// A read whose ETag matters: the split, sent back in If-Match when it is changed.
export async function apiWithEtag(path) {
  const response = await read(path);
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return { body: await response.json(), etag: response.headers.get("ETag") };
}

// A change, with the admin key, always as JSON (the API answers 415 to anything else).
export async function send(method, path, body = {}, headers = {}) {
  const response = await fetch(path, {
    method,
    headers: { "Content-Type": "application/json", ...keyHeader(adminKey()), ...headers },
    body: JSON.stringify(body),
    cache: "no-store",
  });
  const answer = await response.json().catch(() => null);
  if (!response.ok) {
    const error = answer && answer.error;
    throw new Refused(response.status, error ? error.message : `HTTP ${response.status}`, error && error.details);
  }
  return answer;
}
