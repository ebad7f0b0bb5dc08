// The admin API over fetch: the session cookie (HttpOnly, set by POST /admin/session) rides
// along by itself; every call that changes something adds the CSRF token the session gave.
// Errors become ApiError with the status and, for 422, the per-field errors.
export interface FieldError {
  field: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly fieldErrors: FieldError[] = [],
  ) {
    super(message);
  }
}

let csrf = "";
let onUnauthorised: () => void = () => {};

export function setCsrf(token: string): void {
  csrf = token;
}
export function csrfToken(): string {
  return csrf;
}
export function whenUnauthorised(f: () => void): void {
  onUnauthorised = f;
}

export interface Answer<T> {
  status: number;
  body: T;
  etag: string | null;
}

export async function call<T = unknown>(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer<T>> {
  const h: Record<string, string> = { Accept: "application/json", ...headers };
  if (method !== "GET" && csrf) h["X-CSRF-Token"] = csrf;
  let payload: BodyInit | undefined;
  if (body !== undefined) {
    h["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const res = await fetch(path, { method, headers: h, body: payload, credentials: "same-origin" });
  const text = await res.text();
  let parsed: unknown = text;
  if ((res.headers.get("Content-Type") ?? "").includes("json") && text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  if (!res.ok) {
    if (res.status === 401 && path !== "/admin/session") onUnauthorised();
    throw toError(res.status, parsed);
  }
  return { status: res.status, body: parsed as T, etag: res.headers.get("ETag") };
}

export function toError(status: number, parsed: unknown): ApiError {
  if (parsed && typeof parsed === "object") {
    const o = parsed as { errors?: FieldError[]; error?: string; message?: string };
    const errors = Array.isArray(o.errors) ? o.errors : [];
    const message = o.error ?? o.message ?? errors.map((e) => `${e.field}: ${e.message}`).join("; ");
    return new ApiError(status, message || `HTTP ${status}`, errors);
  }
  return new ApiError(status, (typeof parsed === "string" && parsed.trim()) || `HTTP ${status}`);
}

export const get = <T>(path: string) => call<T>("GET", path).then((a) => a.body);

/** "N" as If-Match wants it. */
export const ifMatch = (revision: number | string) => ({ "If-Match": `"${revision}"` });
