import type { z } from 'zod';
import { ErrorCode } from './errors.js';
import {
  type ClientMessage,
  clientMessageSchema,
  MAX_MESSAGE_BYTES,
  type RequestType,
  type ResultOf,
  resultSchemas,
  type ServerMessage,
  serverMessageSchema,
} from './messages.js';

export type ParseFailure = {
  ok: false;
  /** The request id when the frame was an object with a usable `id`, so the error can answer it. */
  id: number | null;
  code: ErrorCode;
  message: string;
};
export type ParseResult<T> = { ok: true; message: T } | ParseFailure;

/** Reads one client frame: size, JSON, then the schema. Never throws. */
export function parseClientMessage(frame: string): ParseResult<ClientMessage> {
  if (frame.length > MAX_MESSAGE_BYTES) {
    return {
      ok: false,
      id: null,
      code: ErrorCode.MessageTooLarge,
      message: `message exceeds ${MAX_MESSAGE_BYTES} bytes`,
    };
  }
  let json: unknown;
  try {
    json = JSON.parse(frame);
  } catch {
    return { ok: false, id: null, code: ErrorCode.BadJson, message: 'message is not valid JSON' };
  }
  const result = clientMessageSchema.safeParse(json);
  if (result.success) return { ok: true, message: result.data };
  return { ok: false, id: requestIdOf(json), code: ErrorCode.InvalidMessage, message: describeIssues(result.error) };
}

/** The request id of a frame, without validating the rest, so that a refusal can still answer it. */
export function peekRequestId(frame: string): number | null {
  try {
    return requestIdOf(JSON.parse(frame));
  } catch {
    return null;
  }
}

/** One line naming the first few problems and where they are, e.g. `text: Too big: expected string to have <=1000 characters`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ');
}

function requestIdOf(json: unknown): number | null {
  if (typeof json !== 'object' || json === null || !('id' in json)) return null;
  const { id } = json;
  return typeof id === 'number' && Number.isInteger(id) && id >= 0 && id <= 2 ** 31 ? id : null;
}

/** Validates a response's data against the result schema of the request type it answers. */
export function parseResult<Type extends RequestType>(type: Type, data: unknown): ResultOf<Type> {
  const schema: z.ZodType<ResultOf<Type>> = resultSchemas[type];
  return schema.parse(data);
}

/** Reads one server frame; null when it is not a message of this protocol. */
export function parseServerMessage(frame: string): ServerMessage | null {
  let json: unknown;
  try {
    json = JSON.parse(frame);
  } catch {
    return null;
  }
  const result = serverMessageSchema.safeParse(json);
  return result.success ? result.data : null;
}
