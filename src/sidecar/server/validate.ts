/**
 * Turns one WebSocket text frame into a validated Request, or into the typed error that answers it.
 * Order of checks: JSON, object, protocol version, known type, schema (the first failing field is
 * named). The id is echoed whenever the frame had a usable one, so the client can match the error.
 */
import { PROTOCOL_VERSION, REQUEST_TYPES, Request, type ErrorMessage } from '../../protocol';

export type Parsed = { ok: true; request: Request } | { ok: false; error: ErrorMessage };

const MAX_FRAME = 1024 * 1024;

export function parseRequest(text: string): Parsed {
  const fail = (code: ErrorMessage['code'], message: string, id?: string, field?: string): Parsed => ({
    ok: false,
    error: {
      v: PROTOCOL_VERSION,
      type: 'error',
      code,
      message,
      ...(id !== undefined ? { id } : {}),
      ...(field !== undefined ? { field } : {}),
    },
  });
  if (text.length > MAX_FRAME) return fail('invalid_message', `message too large (${text.length} chars; at most ${MAX_FRAME})`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return fail('bad_json', `not JSON: ${(err as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return fail('invalid_message', `a message must be a JSON object, got ${Array.isArray(raw) ? 'an array' : typeof raw}`);
  }
  const obj = raw as Record<string, unknown>;
  const id = typeof obj.id === 'string' && obj.id.length > 0 && obj.id.length <= 128 ? obj.id : undefined;
  if (obj.v !== PROTOCOL_VERSION) {
    return fail('unsupported_version', `this sidecar speaks protocol version ${PROTOCOL_VERSION}; the message has v=${JSON.stringify(obj.v)?.slice(0, 40)}`, id, 'v');
  }
  if (typeof obj.type !== 'string' || !(REQUEST_TYPES as string[]).includes(obj.type)) {
    return fail('unknown_type', `unknown message type ${JSON.stringify(obj.type)?.slice(0, 60)}; known: ${REQUEST_TYPES.join(', ')}`, id, 'type');
  }
  const result = Request.safeParse(raw);
  if (result.success) return { ok: true, request: result.data };
  const issue = result.error.issues[0];
  const field = issue.path.map(String).join('.') || undefined;
  const where = field ? `${obj.type}.${field}` : obj.type;
  const code = issue.path[0] === 'params' ? 'invalid_params' : 'invalid_message';
  return fail(code, `${where}: ${issue.message}`, id, field);
}
