/** HTTP client for the CLI commands that talk to a running server. */
import { processEnv } from '../config/config.ts';

export interface ClientOptions {
  url?: string;
  org?: string;
  user?: string;
  password?: string;
  token?: string;
}

export function clientFrom(opts: ClientOptions) {
  const env = processEnv();
  const url = (opts.url ?? env.MOLESIGNAL_URL ?? 'http://127.0.0.1:5080').replace(/\/$/, '');
  const org = opts.org ?? env.MOLESIGNAL_ORG ?? 'default';
  const token = opts.token ?? env.MOLESIGNAL_TOKEN;
  const user = opts.user ?? env.MOLESIGNAL_USER ?? env.MOLESIGNAL_ROOT_USER ?? 'root@example.com';
  const password = opts.password ?? env.MOLESIGNAL_PASSWORD ?? env.MOLESIGNAL_ROOT_PASSWORD;
  const authorization = token
    ? `Bearer ${token}`
    : password
      ? `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
      : undefined;

  async function call(method: string, path: string, body?: unknown): Promise<Response> {
    if (!authorization) {
      throw new Error(
        'no credentials: pass --token (or MOLESIGNAL_TOKEN), or --user/--password (or MOLESIGNAL_USER/MOLESIGNAL_PASSWORD)',
      );
    }
    let res: Response;
    try {
      res = await fetch(url + path, {
        method,
        headers: { authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (e) {
      throw new Error(
        `cannot reach ${url}: ${(e as Error).message}. Is the server running (molesignal start)? Set --url or MOLESIGNAL_URL.`,
        { cause: e },
      );
    }
    if (!res.ok) {
      const text = await res.text();
      let message = text;
      try {
        message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text;
      } catch {
        /* not JSON */
      }
      throw new Error(`${method} ${path} failed with HTTP ${res.status}: ${message}`);
    }
    return res;
  }
  return {
    url,
    org,
    call,
    json: async <T>(method: string, path: string, body?: unknown) =>
      (await (await call(method, path, body)).json()) as T,
  };
}
