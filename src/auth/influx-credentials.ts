/**
 * The credentials InfluxDB clients send, mapped onto ours (only on the Influx write routes):
 * `Authorization: Token <api key>` (v2 clients, Telegraf `outputs.influxdb_v2`) is a Bearer key;
 * `?u=<user>&p=<password>` (v1 clients) is Basic auth; a v1 client configured with an API key as
 * its password (Basic or `p=`) authenticates with that key, whatever the user name.
 * https://docs.influxdata.com/influxdb/v2/api-guide/api_intro/#authentication
 */
import { parseApiKey } from './secrets.ts';

export function influxAuthorization(header: string | undefined, query: URLSearchParams): string | undefined {
  if (header) {
    const space = header.indexOf(' ');
    const scheme = header.slice(0, space).toLowerCase();
    const value = header.slice(space + 1).trim();
    if (scheme === 'token') return `Bearer ${value}`;
    if (scheme === 'basic') {
      const text = Buffer.from(value, 'base64').toString('utf8');
      const password = text.slice(text.indexOf(':') + 1);
      if (parseApiKey(password)) return `Bearer ${password}`;
    }
    return header;
  }
  const user = query.get('u') ?? '';
  const password = query.get('p') ?? '';
  if (password === '') return undefined;
  if (parseApiKey(password)) return `Bearer ${password}`;
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}
